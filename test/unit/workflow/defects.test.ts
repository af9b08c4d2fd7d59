/**
 * The twelve defects of issue 13, one test each (written before the fix, and
 * failing on the code before it). The workflows are in the corpus.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { migrateWorkflow } from '../../../src/workflow/migrate/migrate.ts';
import type { MigrateStyle } from '../../../src/workflow/migrate/plan.ts';
import { fixture } from './fixtures.ts';

const STYLES: MigrateStyle[] = ['action', 'steps'];

function corpus(name: string): string {
  return fixture(`corpus/${name}.yml`);
}

interface Located {
  rule: string;
  line: number;
  message: string;
}

function check(text: string): Located[] {
  return checkWorkflows([{ path: 'ci.yml', text }]).findings.map((f) => ({ rule: f.ruleId, line: f.line, message: f.message }));
}

/** The 1-based line range [first, last] of a job's block. */
function jobLines(text: string, id: string): [number, number] {
  const lines = text.split('\n');
  const first = lines.findIndex((line) => line === `  ${id}:`);
  if (first === -1) throw new Error(`no job ${id}`);
  let last = first + 1;
  while (last < lines.length && !/^ {2}[A-Za-z0-9_-]+:\s*$/.test(lines[last] ?? '') && !/^\S/.test(lines[last] ?? '')) last++;
  return [first + 1, last];
}

function inJob(text: string, id: string, finding: Located): boolean {
  const [first, last] = jobLines(text, id);
  return finding.line >= first && finding.line <= last;
}

function jobText(text: string, id: string): string {
  const [first, last] = jobLines(text, id);
  return text.split('\n').slice(first - 1, last).join('\n');
}

interface StepInfo {
  uses: string | undefined;
  if: string | undefined;
  with: Record<string, string>;
  text: string;
}

function jobsOf(text: string): Map<string, { outputs: Record<string, string>; if: string | undefined; steps: StepInfo[] }> {
  const jobs = parseDocument(text).get('jobs', true);
  const result = new Map<string, { outputs: Record<string, string>; if: string | undefined; steps: StepInfo[] }>();
  if (!isMap(jobs)) return result;
  for (const pair of jobs.items) {
    if (!isScalar(pair.key) || !isMap(pair.value)) continue;
    const job = pair.value;
    const outputs: Record<string, string> = {};
    const outputsNode = job.get('outputs', true);
    if (isMap(outputsNode)) for (const o of outputsNode.items) if (isScalar(o.key) && isScalar(o.value)) outputs[String(o.key.value)] = String(o.value.value);
    const steps: StepInfo[] = [];
    const stepsNode = job.get('steps', true);
    if (isSeq(stepsNode)) {
      for (const step of stepsNode.items) {
        if (!isMap(step)) continue;
        const withNode = step.get('with', true);
        const inputs: Record<string, string> = {};
        if (isMap(withNode)) for (const i of withNode.items) if (isScalar(i.key) && isScalar(i.value)) inputs[String(i.key.value)] = String(i.value.value);
        const [start, end] = step.range ?? [0, 0];
        const uses = step.get('uses');
        const condition = step.get('if');
        steps.push({
          uses: typeof uses === 'string' ? uses : undefined,
          if: typeof condition === 'string' ? condition : undefined,
          with: inputs,
          text: text.slice(start, end),
        });
      }
    }
    const condition = job.get('if');
    result.set(String(pair.key.value), { outputs, if: typeof condition === 'string' ? condition : undefined, steps });
  }
  return result;
}

const UPLOADERS = /^(actions\/upload-artifact|image-handover\/image-handover\/export|\.\/export)\b/;

describe('1. migrate never repurposes an output other jobs use', () => {
  describe.each(STYLES)('--style %s on the plan pipeline', (style) => {
    const before = corpus('ci-pipeline');
    const after = migrateWorkflow('ci.yml', before, { style }).text;

    it('keeps every existing job output expression and adds new ones', () => {
      const old = jobsOf(before);
      const migrated = jobsOf(after);
      for (const [id, job] of old) {
        for (const [name, value] of Object.entries(job.outputs)) expect(migrated.get(id)?.outputs[name], `${id}.${name}`).toBe(value);
      }
      expect(Object.keys(migrated.get('build-image')?.outputs ?? {}).length).toBeGreaterThan(Object.keys(old.get('build-image')?.outputs ?? {}).length);
    });

    it('leaves the jobs gated on push_image byte for byte, and re-gates only the jobs it converts', () => {
      for (const id of ['scan-image', 'sbom', 'sign-image', 'integration-gate']) expect(jobText(after, id), id).toBe(jobText(before, id));
      const jobs = jobsOf(after);
      for (const id of ['integration-cerberus', 'integration-crowdsec', 'integration-waf', 'integration-ratelimit', 'e2e']) {
        expect(jobs.get(id)?.if, id).not.toContain('run_integration');
        expect(jobText(after, id), id).not.toContain('image_ref_dockerhub');
      }
    });
  });
});

describe('2. migrate on a reusable workflow with two paths', () => {
  describe.each(STYLES)('--style %s', (style) => {
    const before = corpus('reusable-two-paths');
    const after = migrateWorkflow('integration.yml', before, { style }).text;
    const oldJobs = jobsOf(before);
    /** Steps migrate added (not those whose condition it narrowed): no step of that name or text was in the job before. */
    const isNew = (job: string, step: StepInfo): boolean => {
      const old = oldJobs.get(job)?.steps ?? [];
      const name = /name: (.*)/.exec(step.text)?.[1];
      return !old.some((o) => o.text === step.text || (name !== undefined && /name: (.*)/.exec(o.text)?.[1] === name));
    };

    it('uploads no artifact name twice in one job', () => {
      for (const [id, job] of jobsOf(after)) {
        const names = job.steps.filter((s) => s.uses !== undefined && UPLOADERS.test(s.uses)).map((s) => s.with['name'] ?? 'docker-image');
        expect(new Set(names).size, id).toBe(names.length);
      }
    });

    it('puts every new step on the build path', () => {
      const added = [...jobsOf(after).entries()].flatMap(([id, job]) => job.steps.filter((s) => isNew(id, s)));
      expect(added.length).toBeGreaterThan(0);
      for (const step of added) expect(step.if, step.text).toMatch(/inputs\.image == ''/);
    });

    it('hands over the tag the workflow keeps in TEST_IMAGE', () => {
      expect(after).not.toMatch(/[a-z-]+:local\b/);
      expect(jobText(after, 'contract-tests')).toMatch(/TEST_IMAGE|orders-api:ci/);
    });
  });
});

describe('3. migrate converts consumers whole', () => {
  describe.each(STYLES)('--style %s', (style) => {
    const after = migrateWorkflow('service.yml', corpus('half-converted'), { style }).text;

    const registryReference = /needs\.build\.outputs\.image(?![\w-])/;

    it('uses the local tag everywhere the converted job used the registry reference', () => {
      expect(jobText(after, 'api-tests')).not.toMatch(registryReference);
    });

    it('converts the job that runs the registry image with docker run', () => {
      expect(jobText(after, 'cli-smoke')).not.toMatch(registryReference);
      expect(jobText(after, 'cli-smoke')).not.toContain('login-action');
    });

    it('passes check', () => {
      expect(check(after)).toEqual([]);
    });
  });
});

describe('4. empty-image-ref evaluates guards joined with ||', () => {
  const text = corpus('guard-or');
  const found = check(text).filter((f) => f.rule === 'empty-image-ref');

  it('accepts (… || inputs.force) && ref != \'\' as a guard', () => {
    expect(found.filter((f) => inJob(text, 'deploy', f))).toEqual([]);
  });

  it('still reports a guard the || defeats', () => {
    expect(found.filter((f) => inJob(text, 'announce', f))).toHaveLength(1);
  });
});

describe('5. step outputs written as a heredoc, by a group or through tee', () => {
  it('are seen: no "never writes" findings', () => {
    expect(check(corpus('output-writes')).filter((f) => f.rule === 'empty-image-ref')).toEqual([]);
  });
});

describe('6. unverified-image, once per job and root cause', () => {
  it('reports each unverified job once, at the first step after the load that uses the image', () => {
    const found = check(corpus('many-steps')).filter((f) => f.rule === 'unverified-image');
    expect(found.map((f) => f.line)).toEqual([41, 64, 79]);
  });
});

describe('7. a handover through actions/cache', () => {
  it('is not reported as an artifact never downloaded', () => {
    expect(check(corpus('cache-handover')).filter((f) => f.rule === 'artifact-mismatch')).toEqual([]);
  });
});

describe('8. verification must inspect the handed-over image', () => {
  const text = corpus('inspect-other');
  const found = check(text).filter((f) => f.rule === 'unverified-image');

  it('does not count an inspect of another image', () => {
    expect(found.filter((f) => inJob(text, 'test', f))).toHaveLength(1);
  });

  it('counts an inspect of the exported tag', () => {
    expect(found.filter((f) => inJob(text, 'test-verified', f))).toEqual([]);
  });
});

describe('9. registry handovers through docker push and implicit pulls', () => {
  const text = corpus('docker-push-run');

  it('are reported for docker run, compose, a job container and a service', () => {
    const pulls = check(text).filter((f) => f.rule === 'registry-pull');
    for (const id of ['unit', 'compose', 'in-container', 'as-service']) {
      expect(pulls.filter((f) => inJob(text, id, f)).length, id).toBeGreaterThan(0);
    }
  });

  it('are migrated where steps can load the image, and the rest is named', () => {
    const result = migrateWorkflow('ci.yml', text, { style: 'action' });
    expect(result.changed).toBe(true);
    expect(jobText(result.text, 'unit')).not.toContain('needs.build.outputs.tag');
    expect(result.notes.join('\n')).toMatch(/in-container/);
    expect(result.notes.join('\n')).toMatch(/as-service/);
  });
});

describe('10. marketplace image-artifact actions and directory uploads', () => {
  it('give their consumers needs, verification and retention checks', () => {
    const text = corpus('marketplace-image-artifact');
    const found = check(text);
    expect(found.filter((f) => f.rule === 'consumer-needs' && inJob(text, 'gateway-tests', f))).toHaveLength(1);
    expect(found.filter((f) => f.rule === 'unverified-image' && inJob(text, 'gateway-tests', f))).toHaveLength(1);
    expect(found.filter((f) => f.rule === 'artifact-retention' && inJob(text, 'build', f))).toHaveLength(1);
    expect(found.filter((f) => inJob(text, 'worker-tests', f))).toEqual([]);
  });

  it('treat an image directory upload as an image artifact', () => {
    const text = corpus('directory-artifact');
    expect(check(text).filter((f) => f.rule === 'artifact-retention')).toHaveLength(1);
  });
});

describe('11. a broken handover is reported whole', () => {
  it('reports the wrong name, the missing needs and the wrong tag', () => {
    const rules = new Set(check(corpus('wrong-artifact-name')).map((f) => f.rule));
    expect([...rules].sort()).toEqual(['artifact-mismatch', 'consumer-needs', 'tag-mismatch']);
  });
});

describe("12. migrate follows the file's style, and its diff applies", () => {
  const before = corpus('sha-pinned');

  it('reuses the SHA pins and artifact majors the file already has (--style steps)', () => {
    const result = migrateWorkflow('ci.yml', before, { style: 'steps' });
    const added = result.text.split('\n').filter((line) => /^\s*(- )?uses: /.test(line) && !before.includes(line));
    expect(added.length).toBeGreaterThan(0);
    for (const line of added) expect(line).toMatch(/@[0-9a-f]{40} # v\d/);
    expect(result.text).toContain('actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v6.0.0');
  });

  it('says what the user must pin when it adds an action the file does not use (--style action)', () => {
    const result = migrateWorkflow('ci.yml', before, { style: 'action' });
    expect(result.notes.join('\n')).toMatch(/pin .*image-handover\/image-handover\/export/i);
    expect(result.notes.join('\n')).toMatch(/pin .*image-handover\/image-handover\/load/i);
  });

  it('prints a diff for an absolute path that git apply and patch -p1 accept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'handover-abs-'));
    const elsewhere = await mkdtemp(join(tmpdir(), 'handover-cwd-'));
    try {
      const file = join(dir, 'ci.yml');
      await writeFile(file, corpus('half-converted'));
      const stdout = new PassThrough();
      let diff = '';
      stdout.on('data', (chunk: Buffer) => (diff += chunk.toString()));
      const status = await main(['migrate', file], { stdout, stderr: new PassThrough(), env: {}, cwd: elsewhere, signal: new AbortController().signal });
      expect(status).toBe(0);
      expect(diff).not.toContain('a//');
      const patch = join(elsewhere, 'fix.patch');
      await writeFile(patch, diff);
      const run = promisify(execFile);
      await run('git', ['apply', '--check', patch], { cwd: '/' });
      await run('patch', ['-p1', '--dry-run', '-i', patch], { cwd: '/' });
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
