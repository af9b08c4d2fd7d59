import { isMap, isScalar, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { migrateWorkflow } from '../../../src/workflow/migrate/migrate.ts';
import type { MigrateStyle } from '../../../src/workflow/migrate/plan.ts';
import { actionlint } from '../../support/actionlint.ts';
import { fixture } from './fixtures.ts';

const BEFORE = 'pipeline/before.yml';
const STYLES: MigrateStyle[] = ['action', 'steps'];
const golden = (style: MigrateStyle): string => fixture(`pipeline/after-${style}.yml`);

function check(text: string): string[] {
  return checkWorkflows([{ path: 'ci.yml', text }]).findings.map((f) => `${f.ruleId}@${f.line}:${f.col}`);
}

/** Each job's exact source text, by job id. */
function jobTexts(text: string): Map<string, string> {
  const jobs = parseDocument(text).get('jobs', true);
  const result = new Map<string, string>();
  if (!isMap(jobs)) return result;
  for (const pair of jobs.items) {
    const start = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    const end = isMap(pair.value) ? pair.value.range?.[1] : undefined;
    if (start !== undefined && end !== undefined) result.set(String((pair.key as { value: unknown }).value), text.slice(start, end));
  }
  return result;
}

describe('the plan-shaped pipeline before the handover', () => {
  it('breaks the contract exactly where the plan says', () => {
    const consumers = [
      [90, 98, 100],
      [111, 119, 121],
      [132, 140, 142],
      [153, 161, 163],
    ];
    expect(check(fixture(BEFORE))).toEqual([
      'push-policy-gate@40:24',
      // One finding per job and root cause: the empty reference at its first use, not again at docker tag.
      ...consumers.flatMap(([login, pull, tests]) => [
        `registry-pull@${login}:15`,
        `registry-pull@${pull}:11`,
        `empty-image-ref@${pull}:23`,
        `unverified-image@${tests}:9`,
      ]),
    ]);
  });

  it('is a valid workflow for actionlint', async () => {
    expect(await actionlint(fixture(BEFORE), 'ci.yml')).toEqual([]);
  });
});

describe.each(STYLES)('migrate --style %s', (style) => {
  const migrated = migrateWorkflow('ci.yml', fixture(BEFORE), { style });

  it('produces the golden pipeline', () => {
    expect(migrated.changed).toBe(true);
    expect(migrated.text).toBe(golden(style));
  });

  it('is idempotent', () => {
    const again = migrateWorkflow('ci.yml', migrated.text, { style });
    expect(again.changed).toBe(false);
    expect(again.text).toBe(migrated.text);
  });

  it('passes handover check', () => {
    expect(check(migrated.text)).toEqual([]);
  });

  it('passes actionlint', async () => {
    expect(await actionlint(migrated.text, 'ci.yml')).toEqual([]);
  });

  it('leaves the jobs it does not need to touch byte for byte', () => {
    const before = jobTexts(fixture(BEFORE));
    const after = jobTexts(migrated.text);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const id of ['lint', 'integration-gate', 'scan-image', 'release-notes']) {
      expect(after.get(id), id).toBe(before.get(id));
    }
    const header = fixture(BEFORE).slice(0, fixture(BEFORE).indexOf('\njobs:'));
    expect(migrated.text.startsWith(header)).toBe(true);
  });

  it('keeps comments and the producer steps it does not edit', () => {
    const producerBefore = jobTexts(fixture(BEFORE)).get('build-image') ?? '';
    const producerAfter = jobTexts(migrated.text).get('build-image') ?? '';
    for (const kept of ['# Fork pull requests get no secrets, so they cannot push.', '      - name: Decide push policy', '      - name: Compute image reference']) {
      expect(producerAfter).toContain(kept);
    }
    const policyStep = / {6}- name: Decide push policy[\s\S]*?fi\n/.exec(producerBefore)?.[0] ?? 'missing';
    expect(producerAfter).toContain(policyStep);
  });

  it('removes every registry login and pull from the consumers', () => {
    for (const id of ['integration-cerberus', 'integration-crowdsec', 'integration-waf', 'integration-ratelimit']) {
      const job = jobTexts(migrated.text).get(id) ?? '';
      expect(job).not.toMatch(/login-action|docker pull|docker login/);
      expect(job).toContain('charon:local');
    }
  });
});

describe('migrate on a pipeline without registry pulls', () => {
  it('changes nothing', () => {
    const text = fixture('rules/unverified-image.yml');
    expect(migrateWorkflow('x.yml', text, { style: 'action' })).toEqual({ text, changed: false, notes: [] });
  });
});

describe('the actionlint wrapper', () => {
  it('reports real problems, so an empty result means something', async () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ needs.nope.outputs.x }}\n';
    const found = await actionlint(broken, 'broken.yml');
    expect(found.map((f) => `${f.line}:${f.column}:${f.kind}`)).toEqual(['6:23:expression']);
  });
});
