import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** examples/charon-pipeline: the plan's pipeline, its service image and integration scripts. */
export const EXAMPLE_DIR = fileURLToPath(new URL('../../../examples/charon-pipeline/', import.meta.url));

/** Runs the docker CLI against one engine; resolves with its trimmed stdout. */
export async function docker(host: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' }, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** The image id a reference names on an engine, or undefined when it has none. */
export function imageId(host: string, ref: string): Promise<string | undefined> {
  return docker(host, 'image', 'inspect', ref, '--format', '{{.Id}}').catch(() => undefined);
}

/** Builds the example's charon image on an engine, as the workflow's build step does; resolves with its id. */
export async function buildCharon(host: string, tag: string, version: string): Promise<string> {
  const context = await mkdtemp(join(tmpdir(), 'ho-charon-'));
  try {
    await run(join(EXAMPLE_DIR, 'scripts/prepare-context.sh'), [context]);
    await docker(host, 'build', '-q', '-t', tag, '--build-arg', `CHARON_VERSION=${version}`, context);
    return await docker(host, 'image', 'inspect', tag, '--format', '{{.Id}}');
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Runs one of the example's integration scripts against an engine. */
export async function runIntegrationScript(host: string, suite: string, image = 'charon:local'): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('bash', [join(EXAMPLE_DIR, 'scripts/integration', `${suite}.sh`)], {
      env: { ...process.env, DOCKER_HOST: host, CHARON_IMAGE: image },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}
