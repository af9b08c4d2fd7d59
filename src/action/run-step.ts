import * as core from '@actions/core';
import { asInterruption, interruptOnSignals } from '../entry/interrupt.ts';
import { readSettings, type Settings } from '../entry/settings.ts';
import { describeFailure } from './failure.ts';
import { writeJobSummary } from './job-summary.ts';
import { failureSummaryMarkdown } from './summary.ts';

export interface StepContext {
  settings: Settings;
  /** Aborted when the job is cancelled (SIGINT, then SIGTERM): the work stops and cleans up. */
  signal: AbortSignal;
}

/**
 * Runs an action's work as the CLI runs a command: settings read once, the
 * same interrupt path, and one error boundary that fails the step with the
 * CLI's message and exit status, and says so in the job summary.
 */
export async function runStep(action: 'export' | 'load', env: NodeJS.ProcessEnv, work: (context: StepContext) => Promise<void>): Promise<void> {
  const interrupt = interruptOnSignals();
  let settings: Settings | undefined;
  try {
    settings = readSettings(env);
    await work({ settings, signal: interrupt.signal });
  } catch (error) {
    const failure = describeFailure(asInterruption(interrupt.signal, error));
    core.setFailed(failure.message);
    process.exitCode = failure.exitStatus;
    await writeJobSummary(settings?.stepSummary, failureSummaryMarkdown(action, failure.message));
  } finally {
    interrupt.dispose();
  }
}
