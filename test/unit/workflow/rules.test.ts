import { describe, expect, it } from 'vitest';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { rules } from '../../../src/workflow/rules/index.ts';
import { actionlint } from '../../support/actionlint.ts';
import { fixture } from './fixtures.ts';

/** Findings as `rule@line:col`, the exact shape each fixture pins. */
function findings(name: string): string[] {
  return checkWorkflows([{ path: name, text: fixture(name) }]).findings.map((f) => `${f.ruleId}@${f.line}:${f.col}`);
}

const expected: Record<string, string[]> = {
  'registry-pull': ['registry-pull@24:51', 'registry-pull@25:14', 'registry-pull@33:15', 'registry-pull@40:14'],
  // smoke runs the image the build pushes only on push events, on every event: a registry handover as well.
  'empty-image-ref': ['empty-image-ref@33:25', 'empty-image-ref@39:30', 'registry-pull@39:30', 'empty-image-ref@50:22'],
  'tag-mismatch': ['tag-mismatch@27:35', 'tag-mismatch@28:56', 'unpinned-load@44:15', 'tag-mismatch@47:17'],
  'artifact-mismatch': [
    'artifact-mismatch@24:17',
    'artifact-mismatch@36:29',
    'artifact-mismatch@42:14',
    'artifact-mismatch@53:14',
    'artifact-mismatch@74:17',
    'artifact-mismatch@93:16',
  ],
  'unverified-image': ['unverified-image@29:9', 'unverified-image@41:14'],
  'consumer-needs': ['consumer-needs@24:12', 'consumer-needs@33:3', 'unpinned-load@36:15'],
  'push-policy-gate': ['push-policy-gate@9:24'],
  'export-cache': ['export-cache@10:11', 'export-cache@14:11', 'export-cache@32:11'],
  'artifact-retention': ['artifact-retention@9:15', 'artifact-retention@18:27', 'artifact-retention@28:27'],
  'unpinned-load': ['unpinned-load@31:15'],
  suppression: ['suppression@29:59', 'suppression@30:68'],
};

describe('one fixture per rule', () => {
  it('covers every rule', () => {
    expect(Object.keys(expected).sort()).toEqual(rules.map((r) => r.id).sort());
  });

  for (const [rule, list] of Object.entries(expected)) {
    it(`${rule}: exact findings`, () => {
      expect(findings(`rules/${rule}.yml`)).toEqual(list);
    });

    it(`${rule}: the fixture is a valid workflow for actionlint`, async () => {
      expect(await actionlint(fixture(`rules/${rule}.yml`), `${rule}.yml`)).toEqual([]);
    });
  }
});

describe('rule metadata', () => {
  it('has a unique kebab-case id, a one-line description and a level', () => {
    const ids = rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of rules) {
      expect(rule.id).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(rule.description).not.toContain('\n');
      expect(['error', 'warning', 'note']).toContain(rule.level);
    }
  });
});

describe('suppressions', () => {
  it('silence a finding on their line or the line below, and only for the named rule', () => {
    const text = fixture('rules/suppression.yml');
    const withoutComments = text.replace(/ *# handover: ignore\[[^\]]*\][^\n]*/g, '').replace(/\n\s*\n/g, '\n');
    const unsuppressed = checkWorkflows([{ path: 'x.yml', text: withoutComments }]).findings.map((f) => f.ruleId);
    expect(unsuppressed).toEqual(['registry-pull', 'registry-pull']);
  });
});

describe('rule docs', () => {
  it('have a section per rule whose anchor is #rule-<id>', async () => {
    const { readFile } = await import('node:fs/promises');
    const docs = await readFile(new URL('../../../docs/check-and-migrate.md', import.meta.url), 'utf8');
    const anchors = [...docs.matchAll(/^### (.+)$/gm)].map((m) =>
      (m[1] ?? '').toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'),
    );
    for (const rule of rules) expect(anchors).toContain(`rule-${rule.id}`);
  });
});
