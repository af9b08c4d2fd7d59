import { resolve } from 'node:path';
import { COMPRESSIONS, type Compression } from '../../bundle/media-types.ts';
import { UsageError } from '../../errors.ts';
import { producerAnnotations } from '../../handover/ci-context.ts';
import { exportImages, type ExportResult } from '../../handover/export.ts';
import { VERSION } from '../../version.ts';
import type { Command, CommandIO } from '../command.ts';
import { bytesFromEnv, flag, jsonOption, nameOption, openEngine, openStore, quietOption, storeOption, stringValue, writeJson } from '../context.ts';
import { formatBytes, formatDuration, phaseLines, table } from '../output/format.ts';
import { ProgressDisplay } from '../output/progress-display.ts';

function parseCompression(value: string | undefined): Compression {
  const compression = value ?? 'zstd';
  if ((COMPRESSIONS as readonly string[]).includes(compression)) return compression as Compression;
  throw new UsageError(`Expected --compression to be one of ${COMPRESSIONS.join(', ')}, found '${compression}'.`, {
    hint: 'zstd (the default) is fastest; gzip suits consumers with older tools.',
  });
}

function summary(result: ExportResult): string {
  const rows = [['IMAGE', 'ID', 'LAYERS', 'SIZE', 'STORED']];
  for (const image of result.images) {
    rows.push([image.tags.join(', ') || '<untagged>', image.imageId.slice(0, 19), String(image.layers), formatBytes(image.uncompressedBytes), formatBytes(image.storedBytes)]);
  }
  return [
    `Exported bundle '${result.name}' to ${result.store.location}`,
    '',
    table(rows),
    '',
    `bundle digest: ${result.bundleDigest}`,
    `stored ${formatBytes(result.bytes.stored)} (${result.compression}), wrote ${formatBytes(result.bytes.written)} new, read ${formatBytes(result.bytes.read)}`,
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
    compression: { type: 'string', short: 'c', valueName: 'ALG', description: 'Layer compression: zstd (default), gzip or none.' },
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
bottom layer's size from which it does (default 67108864, 64 MiB; off for never).`,
  async run(args, io: CommandIO) {
    const json = flag(args, 'json');
    const archive = stringValue(args, 'archive');
    const compression = parseCompression(stringValue(args, 'compression'));
    const store = openStore(args, io);
    const progress = json || flag(args, 'quiet') ? undefined : new ProgressDisplay(io.stderr);
    const result = await exportImages({
      store,
      name: stringValue(args, 'name') ?? 'docker-image',
      sources: args.positionals,
      archive: archive === undefined ? undefined : resolve(io.cwd, archive),
      engine: archive === undefined ? openEngine(io) : undefined,
      tag: stringValue(args, 'tag'),
      compression,
      producer: producerAnnotations(io.env, VERSION),
      signal: io.signal,
      onProgress: progress?.listener,
      headStartBytes: headStartBytes(io.env),
    });
    progress?.done();
    if (json) writeJson(io, result);
    else io.stdout.write(summary(result));
    return 0;
  },
};

/** HANDOVER_HEAD_START_BYTES: the bottom layer's size from which it gets a head start (see exportImages). */
function headStartBytes(env: NodeJS.ProcessEnv): number | 'off' | undefined {
  if (env['HANDOVER_HEAD_START_BYTES']?.trim() === 'off') return 'off';
  const hint = 'Unset it for the default (67108864, 64 MiB), set 1 to give any bottom layer a head start, or off for none.';
  return bytesFromEnv(env, 'HANDOVER_HEAD_START_BYTES', hint, ', or off');
}
