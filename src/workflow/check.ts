import { compareFindings, type Finding } from './findings.ts';
import { buildModel, type WorkflowModel } from './model/index.ts';
import { rules } from './rules/index.ts';
import { parseSource, positionAt, type SourceFile } from './source.ts';
import { isSuppressed, readSuppressions } from './suppressions.ts';

export interface CheckResult {
  findings: Finding[];
  /** The files checked, for excerpts. */
  files: SourceFile[];
}

/** Checks one parsed workflow file against every rule. Pure: no I/O. */
export function checkFile(file: SourceFile): Finding[] {
  return checkModel(buildModel(file));
}

/** Checks a workflow already modelled (migrate checks its own output this way). */
export function checkModel(model: WorkflowModel): Finding[] {
  const file = model.workflow.file;
  const { suppressions, findings: suppressionFindings } = readSuppressions(file);
  const findings: Finding[] = [];
  for (const rule of rules) {
    for (const report of rule.check({ model })) {
      const { line, col } = positionAt(file, report.offset);
      findings.push({ ruleId: rule.id, level: rule.level, message: report.message, path: file.path, line, col, offset: report.offset });
    }
  }
  return [...findings.filter((f) => !isSuppressed(f, suppressions)), ...suppressionFindings].sort(compareFindings);
}

/** Checks workflow texts; throws WorkflowParseError for a file that is not YAML. */
export function checkWorkflows(inputs: readonly { path: string; text: string }[]): CheckResult {
  const files = inputs.map((input) => parseSource(input.path, input.text));
  return { files, findings: files.flatMap(checkFile).sort(compareFindings) };
}
