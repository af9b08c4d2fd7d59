/**
 * Runs the local artifact service on its own, for trying the CLI or the
 * actions by hand and for the bench: prints the environment a runner job
 * gives a step (one job per name given), then serves until SIGINT/SIGTERM.
 *
 *   node test/support/artifact-service/serve.ts [--up MB/s] [--down MB/s] JOB...
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startArtifactService } from './index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { up: { type: 'string' }, down: { type: 'string' }, 'env-dir': { type: 'string' } },
});
const rate = (value: string | undefined): number | undefined => (value === undefined || value === '' || value === '0' ? undefined : Number(value) * 1e6);
const harness = await startArtifactService({ link: { upBytesPerSecond: rate(values.up), downBytesPerSecond: rate(values.down) } });
for (const name of positionals.length === 0 ? ['build-image'] : positionals) {
  const job = await harness.createJob(name);
  const lines = Object.entries(job.env).map(([key, value]) => `${key}=${value}`);
  if (values['env-dir'] !== undefined) await writeFile(`${values['env-dir']}/${name}.env`, lines.join('\n') + '\n');
  process.stdout.write(`# job ${name}\n${lines.join('\n')}\n`);
}
process.stdout.write('ready\n');
const stop = async (): Promise<void> => {
  await harness.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
