import type { CommandIO } from '../command.ts';

/** A command's result on stdout, as `{"ok": true, …}`. */
export function writeJson(io: CommandIO, value: object): void {
  io.stdout.write(`${JSON.stringify({ ok: true, ...value }, null, 2)}\n`);
}
