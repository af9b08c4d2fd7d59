import { parseArgs } from 'node:util';
import { asInterruption } from '../entry/interrupt.ts';
import { ExitStatus, UsageError, describeCause, isHandoverError, type HandoverError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { wantsJson } from './args.ts';
import type { Command, CommandIO, OptionSpec, ParsedArgs } from './command.ts';
import { commands } from './commands/index.ts';
import { PROGRAM, commandHelp, programHelp } from './help.ts';

function commandOptions(command: Command): Record<string, OptionSpec> {
  return { ...command.options, help: { type: 'boolean', short: 'h', description: 'Show this help.' } };
}

function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  try {
    const parsed = parseArgs({ args: argv, options: commandOptions(command), allowPositionals: true, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    // parseArgs explains the problem well ("Unknown option '--x'"); add where to look.
    throw new UsageError(`${describeCause(error).replace(/\.?$/, '.')}`, {
      hint: `Run '${PROGRAM} ${command.name} --help' for the options it takes.`,
      cause: error,
    });
  }
}

/** Prints an error the way every command does: message, hint, code. Or JSON. */
export function reportError(error: unknown, io: CommandIO, json: boolean): number {
  const typed: HandoverError | undefined = isHandoverError(error) ? error : undefined;
  const status = typed?.exitStatus ?? ExitStatus.internal;
  if (json) {
    const body = typed?.toJSON() ?? {
      name: 'InternalError',
      code: 'INTERNAL',
      exitStatus: status,
      message: describeCause(error),
    };
    io.stdout.write(`${JSON.stringify({ ok: false, error: body }, null, 2)}\n`);
    return status;
  }
  if (typed === undefined) {
    io.stderr.write(`${PROGRAM}: internal error: ${describeCause(error)}\n`);
    if (error instanceof Error && error.stack !== undefined) io.stderr.write(`${error.stack}\n`);
    io.stderr.write('This is a bug in handover; please report it with the output above.\n');
    return status;
  }
  io.stderr.write(`${PROGRAM}: error [${typed.code}]: ${typed.message}\n`);
  if (typed.hint !== undefined) io.stderr.write(`  ${typed.hint}\n`);
  return status;
}

/**
 * Whether a command line asks for JSON output, by its parsed options. Read
 * leniently, so an error in the rest of the line is still reported in JSON.
 */
function jsonRequested(command: Command | undefined, argv: string[]): boolean {
  if (command === undefined) return false;
  try {
    return wantsJson(parseArgs({ args: argv, options: commandOptions(command), allowPositionals: true, strict: false }).values);
  } catch {
    return false;
  }
}

/** The CLI: the one place that turns errors into messages and exit statuses. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  const json = jsonRequested(commands.find((c) => c.name === name), rest);
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
      io.stdout.write(topic === undefined ? programHelp(commands) : commandHelp(topic));
      return name === undefined ? ExitStatus.usage : ExitStatus.ok;
    }
    if (name === '--version' || name === '-V') {
      io.stdout.write(`${VERSION}\n`);
      return ExitStatus.ok;
    }
    const command = commands.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(`Unknown command '${name}'. Expected one of: ${commands.map((c) => c.name).join(', ')}.`, {
        hint: `Run '${PROGRAM} --help' for what each command does.`,
      });
    }
    const args = parseCommandArgs(command, rest);
    if (args.values['help'] === true) {
      io.stdout.write(commandHelp(command));
      return ExitStatus.ok;
    }
    return await command.run(args, io);
  } catch (error) {
    return reportError(asInterruption(io.signal, error), io, json);
  }
}
