import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { startArtifactService, type ArtifactServiceHarness } from '../support/artifact-service/index.ts';
import { EXAMPLE_DIR, buildCharon, docker, imageId } from '../support/artifact-service/example-pipeline.ts';
import { runAction, type ActionRun } from '../support/artifact-service/run-action.ts';

const execFileAsync = promisify(execFile);
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  jobs: Record<string, Job>;
}

type Context = { needs: Record<string, Record<string, string>>; steps: Record<string, Record<string, string>> };

/** Resolves the ${{ needs.J.outputs.O }} and ${{ steps.S.outputs.O }} expressions the handover uses; anything else is a test failure. */
function resolve(text: string, context: Context): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
    const match = /^(needs|steps)\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(expression);
    if (match === null) throw new Error(`the rehearsal does not evaluate \${{ ${expression} }}`);
    const scope = match[1] === 'needs' ? context.needs : context.steps;
    return scope[match[2]!]?.[match[3]!] ?? '';
  });
}

function resolveInputs(step: Step, context: Context): Record<string, string> {
  return Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, resolve(String(v), context)]));
}

const SUITES = ['cerberus', 'crowdsec', 'waf', 'ratelimit'] as const;

describe('rehearsal of examples/charon-pipeline/workflow.yml: one producer, four consumers on their own engines', () => {
  const engines = inject('engines');
  const consumers = { cerberus: engines.c1, crowdsec: engines.c2, waf: engines.c3, ratelimit: engines.c4 };
  let workflow: Workflow;
  let harness: ArtifactServiceHarness;
  const needs: Context['needs'] = {};
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    workflow = parse(await readFile(join(EXAMPLE_DIR, 'workflow.yml'), 'utf8')) as Workflow;
    harness = await startArtifactService();
    for (const host of Object.values(consumers)) await docker(host, 'image', 'rm', '-f', 'charon:local').catch(() => '');
  });
  afterAll(async () => {
    console.log(`rehearsal timings (ms): ${JSON.stringify(timings)}`);
    await harness?.stop();
  });

  it('has the plan\'s shape: build-image, four integration jobs without registry access, and a gate', () => {
    expect(Object.keys(workflow.jobs)).toEqual(['build-image', ...SUITES.map((s) => `integration-${s}`), 'integration-gate']);
    for (const suite of SUITES) {
      const job = workflow.jobs[`integration-${suite}`]!;
      expect(job.needs).toBe('build-image');
      expect(job.if).toBe("needs.build-image.outputs.run_integration == 'true'");
      const text = JSON.stringify(job);
      expect(text).not.toMatch(/docker pull|docker login|login-action|secrets\./);
      expect(job.steps.filter((s) => s.uses === './load')).toHaveLength(1);
    }
    expect(workflow.jobs['build-image']!.outputs!['run_integration']).toBe('${{ steps.handover.outputs.run-integration }}');
  });

  it('build-image builds once, rebuilds charon:local from the cache, and exports it with the action', async () => {
    const job = workflow.jobs['build-image']!;
    const producer = await harness.createJob('build-image');
    // The main build (not pushed: a pull request has no registry credentials) …
    let started = performance.now();
    const mainId = await buildCharon(engines.producer, 'charon-build:rehearsal', 'rehearsal');
    timings['build'] = Math.round(performance.now() - started);
    // … and the export build of charon:local reuses its cache: the same image, no rebuild.
    started = performance.now();
    const localId = await buildCharon(engines.producer, 'charon:local', 'rehearsal');
    timings['build from cache'] = Math.round(performance.now() - started);
    expect(localId).toBe(mainId);

    const exportStep = job.steps.find((s) => s.uses === './export')!;
    expect(exportStep.id).toBe('handover');
    started = performance.now();
    const exported = await runAction('export', producer, resolveInputs(exportStep, { needs: {}, steps: {} }), { DOCKER_HOST: engines.producer });
    timings['export'] = Math.round(performance.now() - started);
    expect(exported.error).toBeUndefined();
    expect(exported.exitCode).toBe(0);
    const steps = { [exportStep.id!]: exported.outputs };
    needs['build-image'] = Object.fromEntries(Object.entries(job.outputs ?? {}).map(([k, v]) => [k, resolve(v, { needs: {}, steps })]));
    expect(needs['build-image']).toMatchObject({ run_integration: 'true', bundle_digest: exported.outputs['bundle-digest'] });
    expect(harness.service.list().map((a) => [a.name, a.finalized])).toEqual([['docker-image', true]]);
  });

  it('the four integration jobs load in parallel, each on its own engine, and their scripts pass', async () => {
    expect(needs['build-image']?.['run_integration']).toBe('true');
    const producerId = await imageId(engines.producer, 'charon:local');
    const results = await Promise.all(
      SUITES.map(async (suite) => {
        const job = workflow.jobs[`integration-${suite}`]!;
        const runner = await harness.createJob(`integration-${suite}`);
        const host = consumers[suite];
        const context: Context = { needs, steps: {} };
        let load: ActionRun | undefined;
        let script = { code: -1, output: '' };
        const started = performance.now();
        for (const step of job.steps) {
          if (step.uses === './load') {
            load = await runAction('load', runner, resolveInputs(step, context), { DOCKER_HOST: host });
            timings[`load ${suite}`] = Math.round(performance.now() - started);
            if (load.exitCode !== 0) break;
          } else if (step.run !== undefined) {
            try {
              const { stdout, stderr } = await execFileAsync('bash', ['-e', '-c', resolve(step.run, context)], {
                cwd: repositoryRoot,
                env: { ...process.env, ...runner.env, DOCKER_HOST: host },
              });
              script = { code: 0, output: stdout + stderr };
            } catch (error) {
              const failed = error as { code?: number; stdout?: string; stderr?: string };
              script = { code: failed.code ?? 1, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
            }
          }
        }
        return { suite, host, load, script };
      }),
    );
    for (const { suite, host, load, script } of results) {
      expect(load?.error, suite).toBeUndefined();
      expect(load?.exitCode, suite).toBe(0);
      expect(load?.outputs['bundle-digest'], suite).toBe(needs['build-image']!['bundle_digest']);
      expect(await imageId(host, 'charon:local'), suite).toBe(producerId);
      expect(script.output, suite).toContain(`${suite}: all checks passed`);
      expect(script.code, `${suite}:\n${script.output}`).toBe(0);
    }
    // The gate's own step, with the jobs' results as the runner would give them.
    const gate = workflow.jobs['integration-gate']!.steps[0]!;
    const { stdout } = await execFileAsync('bash', ['-e', '-c', gate.run!], {
      env: {
        ...process.env,
        RUN_INTEGRATION: needs['build-image']!['run_integration']!,
        CERBERUS: 'success',
        CROWDSEC: 'success',
        WAF: 'success',
        RATELIMIT: 'success',
      },
    });
    expect(stdout).toContain('RATELIMIT: success');
  });
});
