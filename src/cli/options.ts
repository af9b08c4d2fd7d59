import { Defaults } from '../defaults.ts';
import type { Settings } from '../entry/settings.ts';
import { selectStore } from '../store/select-store.ts';
import type { Store } from '../store/store.ts';
import { stringValue } from './args.ts';
import type { CommandIO, OptionSpec, ParsedArgs } from './command.ts';

/** The options several commands share. */

export const storeOption: OptionSpec = {
  type: 'string',
  valueName: 'DIR',
  description: "The store: a directory, or 'github' for this run's GitHub Actions artifacts (default: artifacts inside a runner, else $HANDOVER_STORE, else ~/.cache/image-handover).",
};
export const nameOption: OptionSpec = {
  type: 'string',
  short: 'n',
  valueName: 'NAME',
  default: Defaults.bundleName,
  description: `The bundle's name in the store (default: ${Defaults.bundleName}).`,
};
export const jsonOption: OptionSpec = { type: 'boolean', description: 'Print a machine-readable JSON result on stdout.' };
export const quietOption: OptionSpec = { type: 'boolean', short: 'q', description: 'Print no progress.' };

/** The store --store chooses, or the default one. */
export function openStore(args: ParsedArgs, io: CommandIO, settings: Settings): Store {
  return selectStore({ store: stringValue(args, 'store'), defaultStore: settings.defaultStore, runner: settings.runner, cwd: io.cwd });
}
