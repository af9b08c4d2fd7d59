import type { Command, OptionSpec } from './command.ts';

export const PROGRAM = 'handover';

function optionLabel(name: string, spec: OptionSpec): string {
  const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
  const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
  return `${short}--${name}${value}`;
}

export function commandHelp(command: Command): string {
  const options: Record<string, OptionSpec> = { ...command.options, help: { type: 'boolean', short: 'h', description: 'Show this help.' } };
  const labels = Object.entries(options).map(([name, spec]) => [optionLabel(name, spec), spec.description] as const);
  const width = Math.max(0, ...labels.map(([label]) => label.length)) + 2;
  const lines = [
    `Usage: ${PROGRAM} ${command.usage}`,
    '',
    command.summary,
    '',
    'Options:',
    ...labels.map(([label, description]) => `  ${label.padEnd(width)}${description}`),
  ];
  if (command.details !== undefined) lines.push('', command.details.trimEnd());
  return `${lines.join('\n')}\n`;
}

export function programHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 3;
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Hand a built container image from one CI job to the jobs that test it:',
    'a verified, content-addressed OCI bundle in a store, not a registry pull.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    `Run '${PROGRAM} <command> --help' for a command's options and examples.`,
    '',
    'Exit statuses: 0 ok, 1 check found problems, 2 usage, 3 not found, 4 engine,',
    '5 integrity, 6 unsupported format, 7 store I/O, 70 internal error (a bug),',
    '130 interrupted.',
    '',
  ].join('\n');
}
