import { parsePlatform } from '../../bundle/platform.ts';
import { DockerEngine } from '../../engine/docker-engine.ts';
import { readSettings } from '../../entry/settings.ts';
import { loadBundle, type LoadResult } from '../../handover/load/load.ts';
import { formatBytes, formatDuration } from '../../units.ts';
import { flag, rejectPositionals, stringValue, stringValues } from '../args.ts';
import type { Command, CommandIO } from '../command.ts';
import { jsonOption, nameOption, openStore, quietOption, storeOption } from '../options.ts';
import { phaseLines, table } from '../output/format.ts';
import { writeJson } from '../output/json.ts';
import { ProgressDisplay } from '../output/progress-display.ts';

function summary(result: LoadResult): string {
  const rows = [['TAG', 'IMAGE ID', 'LAYERS', 'BEFORE']];
  for (const image of result.images) {
    const tags = image.tags.length === 0 ? ['<untagged>'] : image.tags;
    for (const tag of tags) {
      const before = image.previous[tag];
      rows.push([tag, image.imageId.slice(0, 19), String(image.layers), before === undefined || before === null ? '-' : before === image.imageId ? 'same' : before.slice(0, 19)]);
    }
  }
  return [
    `Loaded and verified bundle '${result.name}' (${result.bundleDigest})`,
    '',
    table(rows),
    '',
    `loaded ${formatBytes(result.bytes.loaded)} into the engine in ${formatDuration(result.timings.totalMs)} (${phaseLines(result.timings.phases)})`,
    '',
  ].join('\n');
}

export const loadCommand: Command = {
  name: 'load',
  summary: 'Load a bundle into the Docker Engine and verify the engine holds exactly the exported images.',
  usage: 'load [--name NAME] [--store DIR] [--expect DIGEST] [--require-tag REF]... [--platform OS/ARCH]',
  options: {
    name: nameOption,
    store: storeOption,
    expect: { type: 'string', short: 'e', valueName: 'DIGEST', description: 'Refuse any bundle but this one (the digest export printed).' },
    'require-tag': { type: 'string', multiple: true, valueName: 'REF', description: 'Fail unless the bundle carries this tag (repeatable).' },
    platform: { type: 'string', valueName: 'OS/ARCH', description: "The platform to load from a multi-platform image, e.g. linux/arm64 (default: the engine's)." },
    json: jsonOption,
    quiet: quietOption,
  },
  details: `Examples:
  handover load --name docker-image
  handover load --name docker-image --expect sha256:… --require-tag charon:local

Every blob is hashed as it streams. Images are loaded untagged, checked on
the engine (image id and layers), and only then tagged: a failed or
interrupted load leaves each tag absent or on its previous image.

How the bundle goes in depends on the engine:
  containerd's image store   one OCI layout, layers as built: the image keeps
                             the producer's id (its index or manifest digest)
  Podman                     the same, with Docker's manifest.json: config digest
  Docker's own store         docker save's layout in overlapped loads, so the
                             engine applies one layer while the next arrives;
                             layers it already holds are not sent
HANDOVER_LOAD_STEP_BYTES sets how many layer bytes one overlapped load carries
(default 33554432; 1 gives every layer a load of its own).

A multi-platform image loads the engine's platform, or --platform's; a bundle
without it fails with PLATFORM_NOT_FOUND and the platforms it has.`,
  async run(args, io: CommandIO) {
    rejectPositionals(args, 'load', 'Name the bundle with --name NAME.');
    const json = flag(args, 'json');
    const settings = readSettings(io.env);
    const platform = stringValue(args, 'platform');
    const progress = json || flag(args, 'quiet') ? undefined : new ProgressDisplay(io.stderr);
    const result = await loadBundle({
      store: openStore(args, io, settings),
      engine: new DockerEngine(settings.engine),
      name: stringValue(args, 'name'),
      expect: stringValue(args, 'expect'),
      requireTags: stringValues(args, 'require-tag'),
      signal: io.signal,
      onProgress: progress?.listener,
      stepBytes: settings.loadStepBytes,
      classicLoad: settings.classicLoad,
      zstd: settings.zstd,
      platform: platform === undefined ? undefined : parsePlatform(platform),
    });
    progress?.done();
    if (json) writeJson(io, result);
    else io.stdout.write(summary(result));
    return 0;
  },
};
