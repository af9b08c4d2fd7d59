import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  /** Shown in --help, e.g. "REF" for --tag REF. */
  valueName?: string;
  description: string;
};

/** Where a command writes. Injected so tests run commands in-process. */
export interface CommandIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM: long work stops and cleans up. */
  signal: AbortSignal;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage line(s), without the program name. */
  usage: string;
  /** Paragraphs after the options: examples, exit statuses. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Returns the exit status. Throws HandoverError for failures. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}
