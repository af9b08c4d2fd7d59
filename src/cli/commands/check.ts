import { oneOf } from '../../entry/one-of.ts';
import { ExitStatus } from '../../errors.ts';
import { checkWorkflows } from '../../workflow/check.ts';
import { DEFAULT_WORKFLOWS_DIR, readWorkflowFiles } from '../../workflow/files.ts';
import { formatJson } from '../../workflow/formatters/json.ts';
import { formatSarif } from '../../workflow/formatters/sarif.ts';
import { formatSummary, formatText } from '../../workflow/formatters/text.ts';
import { rules } from '../../workflow/rules/index.ts';
import { stringValue } from '../args.ts';
import type { Command, ParsedArgs } from '../command.ts';

const FORMATS = ['text', 'json', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

function readFormat(args: ParsedArgs): Format {
  return oneOf<Format>(stringValue(args, 'format'), FORMATS, '--format', {
    fallback: 'text',
    hint: "Use 'text' on a terminal, 'json' for scripts, 'sarif' for GitHub code scanning.",
  });
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'Report where workflows break the image handover contract.',
  usage: `check [PATH...] [--format text|json|sarif]`,
  options: {
    format: { type: 'string', short: 'f', valueName: 'FORMAT', description: 'Output: text (default), json or sarif.' },
  },
  details: [
    `PATH is a workflow file or a directory of them (default ${DEFAULT_WORKFLOWS_DIR}).`,
    '',
    'Rules:',
    ...rules.map((rule) => `  ${rule.id.padEnd(20)}${rule.description}`),
    '',
    'Silence a finding with a reason: # handover: ignore[<rule>] <reason>',
    '(on the finding\'s line or alone on the line above).',
    '',
    'Exit statuses: 0 no findings, 1 findings, 2 usage or workflow parse error, 70 internal error (a bug).',
    'Rules are documented in docs/check-and-migrate.md.',
  ].join('\n'),
  async run(args, io) {
    const format = readFormat(args);
    const paths = args.positionals.length > 0 ? args.positionals : [DEFAULT_WORKFLOWS_DIR];
    const inputs = await readWorkflowFiles(io.cwd, paths);
    const { findings, files } = checkWorkflows(inputs);
    if (format === 'json') io.stdout.write(formatJson(findings));
    else if (format === 'sarif') io.stdout.write(formatSarif(findings));
    else {
      io.stdout.write(formatText(findings, files, { excerpt: io.stdout.isTTY === true }));
      io.stderr.write(formatSummary(findings, files.length));
    }
    return findings.length === 0 ? ExitStatus.ok : ExitStatus.findings;
  },
};
