import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseCommandFile, type RunnerJob } from './index.ts';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface ActionRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The ::error:: message, decoded, when the step failed. */
  error: string | undefined;
}

/** The environment variable a runner passes an input in: INPUT_ + the name upper-cased, spaces as '_'. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Evaluates the github.* expressions an action.yml default may use, as the runner does. */
function evaluateDefault(value: string, job: RunnerJob): string {
  return value.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
    if (expression === 'github.token') return job.githubToken;
    if (expression === 'github.repository') return job.env['GITHUB_REPOSITORY'] ?? '';
    if (expression === 'github.run_id') return job.env['GITHUB_RUN_ID'] ?? '';
    throw new Error(`runAction cannot evaluate the default \${{ ${expression} }}`);
  });
}

/** An action step still running: its process, to signal, and its result once it ends. */
export interface RunningAction {
  child: ChildProcess;
  done: Promise<ActionRun>;
}

/**
 * Runs a JavaScript action of this repository (export, load) the way a runner
 * does: its action.yml's `runs.main` under node, in a separate process, with
 * every input as INPUT_* (the declared defaults for those not given) and the
 * job's runner environment (token, results URL, GITHUB_OUTPUT, summary file).
 */
export async function runAction(action: string, job: RunnerJob, inputs: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<ActionRun> {
  return await (await startAction(action, job, inputs, extraEnv)).done;
}

/** Starts an action step as runAction does, and returns while it runs. */
export async function startAction(action: string, job: RunnerJob, inputs: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<RunningAction> {
  const actionDir = join(repositoryRoot, action);
  const metadata = parse(await readFile(join(actionDir, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { default?: string }>;
    runs: { using: string; main: string };
  };
  if (metadata.runs.using !== 'node24') throw new Error(`${action}/action.yml runs ${metadata.runs.using}, expected node24`);
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...job.env, ...extraEnv };
  for (const [name, spec] of Object.entries(metadata.inputs ?? {})) env[inputVariable(name)] = inputs[name] ?? evaluateDefault(spec.default ?? '', job);
  for (const name of Object.keys(inputs)) {
    if (metadata.inputs?.[name] === undefined) throw new Error(`${action}/action.yml declares no input '${name}'`);
  }
  const outputsBefore = (await readFile(job.outputFile, 'utf8')).length;
  const summaryBefore = (await readFile(job.summaryFile, 'utf8')).length;
  const child = spawn(process.execPath, [join(actionDir, metadata.runs.main)], { cwd: job.env['GITHUB_WORKSPACE'], env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = (async (): Promise<ActionRun> => {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    const outputs = parseCommandFile((await readFile(job.outputFile, 'utf8')).slice(outputsBefore));
    const summary = (await readFile(job.summaryFile, 'utf8')).slice(summaryBefore);
    const errorLine = stdout.split('\n').find((line) => line.startsWith('::error::'));
    const error = errorLine?.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
    return { exitCode, stdout, stderr, outputs, summary, error };
  })();
  return { child, done };
}
