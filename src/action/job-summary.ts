import * as core from '@actions/core';

/** Appends Markdown to the job summary when the runner provides one; a failure to write it only warns. */
export async function writeJobSummary(stepSummary: string | undefined, markdown: string): Promise<void> {
  if (stepSummary === undefined) return;
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${error instanceof Error ? error.message : String(error)}`);
  }
}
