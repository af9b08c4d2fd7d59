import { readSettings } from '../../entry/settings.ts';
import { flag, rejectPositionals } from '../args.ts';
import type { Command } from '../command.ts';
import { jsonOption, openStore, storeOption } from '../options.ts';
import { writeJson } from '../output/json.ts';
import { table } from '../output/format.ts';

export const lsCommand: Command = {
  name: 'ls',
  summary: 'List the bundles in a store.',
  usage: 'ls [--store DIR] [--json]',
  options: { store: storeOption, json: jsonOption },
  async run(args, io) {
    rejectPositionals(args, 'ls', 'ls takes no arguments; choose the store with --store DIR.');
    const store = openStore(args, io, readSettings(io.env));
    const bundles = await store.list();
    if (flag(args, 'json')) {
      writeJson(io, { store: store.location, bundles });
      return 0;
    }
    if (bundles.length === 0) {
      io.stdout.write(`No bundles in ${store.location}.\n`);
      return 0;
    }
    const rows = [['NAME', 'DIGEST', 'UPDATED'], ...bundles.map((b) => [b.name, b.digest, b.updatedAt.toISOString()])];
    io.stdout.write(`${table(rows)}\n`);
    return 0;
  },
};
