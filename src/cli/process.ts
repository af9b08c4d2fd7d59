import { interruptOnSignals } from '../entry/interrupt.ts';
import { main } from './main.ts';

/** Runs the CLI against this process: real streams, environment and signals. */
export async function run(argv: string[]): Promise<number> {
  const interrupt = interruptOnSignals();
  try {
    return await main(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      cwd: process.cwd(),
      signal: interrupt.signal,
    });
  } finally {
    interrupt.dispose();
  }
}
