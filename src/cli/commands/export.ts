import { resolve } from 'node:path';
import { COMPRESSIONS } from '../../bundle/media-types.ts';
import { Defaults } from '../../defaults.ts';
import { DockerEngine } from '../../engine/docker-engine.ts';
import { oneOf } from '../../entry/one-of.ts';
import { readSettings } from '../../entry/settings.ts';
import { UsageError } from '../../errors.ts';
import { exportImages, type ExportResult, type ExportSource } from '../../handover/export/export.ts';
import { formatBytes, formatDuration } from '../../units.ts';
import { flag, stringValue } from '../args.ts';
import type { Command, CommandIO, ParsedArgs } from '../command.ts';
import { jsonOption, nameOption, openStore, quietOption, storeOption } from '../options.ts';
import { phaseLines, table } from '../output/format.ts';
import { writeJson } from '../output/json.ts';
import { ProgressDisplay } from '../output/progress-display.ts';

/** How the layers went in: what a user must know to predict the consumer's image id. */
function layerNote(result: ExportResult): string {
  if (result.transcoded) return `every layer re-encoded to ${result.compression}: manifest digests are new`;
  const kept = result.images.filter((image) => image.keptAsBuilt).length;
  if (kept === result.images.length) return 'layers as built: the producer\'s manifests kept';
  return kept === 0 ? `plain layers compressed with ${result.compression}` : `plain layers compressed with ${result.compression}, ${kept} image(s) kept as built`;
}

function summary(result: ExportResult): string {
  const rows = [['IMAGE', 'ID', 'LAYERS', 'SIZE', 'STORED']];
  for (const image of result.images) {
    rows.push([`${image.tags.join(', ') || '<untagged>'}${image.platforms.length > 1 ? ` (${image.platforms.join(', ')})` : ''}`, (image.sourceId ?? image.imageId).slice(0, 19), String(image.layers), formatBytes(image.uncompressedBytes), formatBytes(image.storedBytes)]);
  }
  return [
    `Exported bundle '${result.name}' to ${result.store.location}`,
    '',
    table(rows),
    '',
    `bundle digest: ${result.bundleDigest}`,
    `stored ${formatBytes(result.bytes.stored)} (${layerNote(result)}), wrote ${formatBytes(result.bytes.written)} new, read ${formatBytes(result.bytes.read)}`,
    `time: ${formatDuration(result.timings.totalMs)} (${phaseLines(result.timings.phases)})`,
    '',
    `Consumers pin it with: handover load --name ${result.name} --expect ${result.bundleDigest}`,
    '',
  ].join('\n');
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Export images from the Docker Engine (or an archive) into a verified bundle in the store.',
  usage: 'export SOURCE... [--tag REF] [--name NAME] [--store DIR] [--compression zstd|gzip|none]\n       handover export --archive FILE [--tag REF] [--name NAME] [--store DIR]',
  options: {
    tag: { type: 'string', short: 't', valueName: 'REF', description: 'The tag consumers get, e.g. charon:local (one source only).' },
    archive: { type: 'string', short: 'a', valueName: 'FILE', description: 'Read an archive from docker save or buildx (type=docker|oci,dest=) instead of the engine.' },
    name: nameOption,
    store: storeOption,
    compression: { type: 'string', short: 'c', valueName: 'ALG', description: 'Re-encode every layer: zstd, gzip or none (changes the manifest digest). Default: plain layers get zstd, compressed ones stay as built.' },
    json: jsonOption,
    quiet: quietOption,
  },
  details: `Examples:
  handover export charon-build:123 --tag charon:local --name docker-image
  handover export app:1 worker:1 --name images         (both keep their tags; shared layers stored once)
  handover export --archive /tmp/charon.tar --name docker-image

The bundle is an OCI image layout (skopeo inspect oci:DIR:charon:local reads it).
Export prints the bundle digest; consumers pin it with load --expect.
The engine is the one DOCKER_HOST names (default unix:///var/run/docker.sock).

The engine writes a whole save to disk before its first byte. When the image's
bottom layer is large (up to 1 GiB), export saves an image of that layer alone
beside it (untagged, labelled io.github.image-handover.partial-of, removed
afterwards) and compresses it meanwhile; HANDOVER_HEAD_START_BYTES sets the
bottom layer's size from which it does (default 67108864, 64 MiB; off for never).
HANDOVER_ZSTD=builtin compresses in process instead of with the zstd command.`,
  async run(args, io: CommandIO) {
    const json = flag(args, 'json');
    const settings = readSettings(io.env);
    const asked = stringValue(args, 'compression');
    const compression = asked === undefined ? undefined : oneOf(asked, COMPRESSIONS, '--compression', {
      fallback: Defaults.compression,
      hint: 'zstd is fastest; gzip suits engines that do not take zstd layers (Docker before 25).',
    });
    const source = exportSource(args, io, settings.engine);
    const progress = json || flag(args, 'quiet') ? undefined : new ProgressDisplay(io.stderr);
    const result = await exportImages({
      store: openStore(args, io, settings),
      source,
      name: stringValue(args, 'name'),
      tag: stringValue(args, 'tag'),
      compression,
      producer: settings.producer,
      signal: io.signal,
      onProgress: progress?.listener,
      headStartBytes: settings.headStartBytes,
      zstd: settings.zstd,
    });
    progress?.done();
    if (json) writeJson(io, result);
    else io.stdout.write(summary(result));
    return 0;
  },
};

/** Images from the engine, or --archive; not both. */
function exportSource(args: ParsedArgs, io: CommandIO, engine: ReturnType<typeof readSettings>['engine']): ExportSource {
  const archive = stringValue(args, 'archive');
  if (archive === undefined) return { engine: new DockerEngine(engine), references: args.positionals };
  if (args.positionals.length > 0) {
    throw new UsageError(`Expected images from the engine or --archive, found both ('${args.positionals.join(' ')}' and --archive ${archive}).`, {
      hint: 'Export either images from the engine or one archive file.',
    });
  }
  return { archive: resolve(io.cwd, archive) };
}
