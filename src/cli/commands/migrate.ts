import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitStatus, UsageError, describeCause } from '../../errors.ts';
import { parseBundleName } from '../../store/bundle-name.ts';
import { diffLabels, unifiedDiff } from '../../workflow/migrate/diff.ts';
import { migrateWorkflow } from '../../workflow/migrate/migrate.ts';
import type { MigrateStyle } from '../../workflow/migrate/plan.ts';
import { oneOf } from '../../entry/one-of.ts';
import { stringValue } from '../args.ts';
import type { Command, ParsedArgs } from '../command.ts';

const STYLES: readonly MigrateStyle[] = ['action', 'steps'];

function readStyle(args: ParsedArgs): MigrateStyle {
  return oneOf(stringValue(args, 'style'), STYLES, '--style', {
    fallback: 'action',
    hint: "'action' uses the handover export/load actions; 'steps' writes Docker's documented steps with cache reuse.",
  });
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Rewrite a registry-pull pipeline onto the image handover.',
  usage: 'migrate FILE [--write] [--style action|steps] [--tag TAG] [--artifact NAME]',
  options: {
    write: { type: 'boolean', short: 'w', description: 'Write the result to FILE instead of printing a diff.' },
    style: { type: 'string', valueName: 'STYLE', description: "action (default): our export/load actions; steps: build-push-action + upload/download-artifact + docker load." },
    tag: { type: 'string', valueName: 'TAG', description: 'The tag consumers load (default: the tag they already give the pulled image, else <repository>:local).' },
    artifact: { type: 'string', valueName: 'NAME', description: "The artifact name (default: docker-image; <job>-image for a further build job, or when the name is taken)." },
  },
  details: [
    'The build job exports and uploads the image; consumers load and verify it instead of',
    'logging in and pulling; the integration gate follows the export, not the push policy.',
    'Comments, blank lines, quoting and key order are kept; untouched jobs are byte-identical.',
    'Running it again changes nothing. Check the result with: handover check FILE',
    '',
    'Exit statuses: 0 ok (diff printed or file written, or nothing to migrate), 2 usage or parse error, 70 internal error (a bug).',
  ].join('\n'),
  async run(args, io) {
    const [file, ...extra] = args.positionals;
    if (file === undefined || extra.length > 0) {
      throw new UsageError(file === undefined ? 'migrate needs the workflow FILE to rewrite.' : `migrate takes one FILE, got ${args.positionals.length}.`, {
        hint: "Run 'handover migrate --help' for usage.",
      });
    }
    const style = readStyle(args);
    const tag = args.values['tag'];
    const artifact = typeof args.values['artifact'] === 'string' ? parseBundleName(args.values['artifact']) : undefined;
    const path = resolve(io.cwd, file);
    const text = await readFile(path, 'utf8').catch((error: unknown) => {
      throw new UsageError(`Cannot read '${file}': ${describeCause(error)}.`, { hint: 'Name a workflow file that exists.', cause: error });
    });
    const result = migrateWorkflow(file, text, { style, ...(typeof tag === 'string' ? { tag } : {}), ...(artifact === undefined ? {} : { artifact }) });
    if (!result.changed) {
      io.stderr.write(`${file}: nothing to migrate (no job takes from a registry an image another job of this workflow builds, or none could be converted).\n`);
      if (result.notes.length > 0) io.stderr.write(`${result.notes.map((note) => `  ${note}`).join('\n')}\n`);
      return ExitStatus.ok;
    }
    const labels = diffLabels(io.cwd, path);
    if (args.values['write'] === true) await writeFile(path, result.text);
    else io.stdout.write(unifiedDiff(text, result.text, labels.from, labels.to));
    io.stderr.write(`${result.notes.map((note) => `  ${note}`).join('\n')}\n`);
    if (args.values['write'] === true) io.stderr.write(`Wrote ${file}. Check it with: handover check ${file}\n`);
    else if (labels.base !== io.cwd) io.stderr.write(`The diff names the file from /: apply it there (cd / && git apply, or patch -p1 -d /).\n`);
    return ExitStatus.ok;
  },
};
