import { readSettings } from '../../entry/settings.ts';
import { inspectBundle, type InspectResult } from '../../handover/inspect.ts';
import { flag, rejectPositionals, stringValue } from '../args.ts';
import type { Command } from '../command.ts';
import { jsonOption, nameOption, openStore, storeOption } from '../options.ts';
import { writeJson } from '../output/json.ts';
import { formatBytes } from '../../units.ts';
import { table } from '../output/format.ts';

function describe(result: InspectResult): string {
  const lines = [
    `bundle:   ${result.name}`,
    `digest:   ${result.bundleDigest}`,
    `location: ${result.location}`,
    `format:   ${result.formatVersion ?? 'plain OCI layout'}${result.created === undefined ? '' : `, created ${result.created}`}`,
  ];
  for (const [key, value] of Object.entries(result.producer)) lines.push(`  ${key}: ${value}`);
  for (const image of result.images) {
    lines.push('', `image ${image.tags.join(', ') || '<untagged>'} (${image.platform})`, `  config:   ${image.imageId}   (the image id on an engine's own store and on Podman)`);
    if (image.indexDigest !== undefined) lines.push(`  index:    ${image.indexDigest}   (the image id on containerd's store)`, `  manifest: ${image.manifestDigest}`);
    else lines.push(`  manifest: ${image.manifestDigest}   (the image id on containerd's store)`);
    const rows = [['  #', 'DIGEST', 'STORED', 'UNCOMPRESSED', 'TYPE']];
    image.layers.forEach((layer, i) =>
      rows.push([`  ${i + 1}`, layer.digest.slice(0, 19), formatBytes(layer.size), layer.uncompressedSize === undefined ? '-' : formatBytes(layer.uncompressedSize), layer.mediaType.replace('application/vnd.oci.image.layer.v1.', '').replace('application/vnd.docker.image.rootfs.diff.', 'docker ')]),
    );
    lines.push(table(rows));
    lines.push(`  stored ${formatBytes(image.storedBytes)}${image.uncompressedBytes === undefined ? '' : ` of ${formatBytes(image.uncompressedBytes)} uncompressed`}`);
  }
  lines.push('', result.blobsVerified ? 'Every blob was read and matches its digest.' : 'Metadata verified; add --verify to hash every layer.', '');
  return lines.join('\n');
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Show what a bundle holds: images, tags, ids, layers, sizes and who produced it.',
  usage: 'inspect [--name NAME] [--store DIR] [--verify] [--expect DIGEST] [--json]',
  options: {
    name: nameOption,
    store: storeOption,
    verify: { type: 'boolean', description: 'Also read every layer and check it against its digest.' },
    expect: { type: 'string', short: 'e', valueName: 'DIGEST', description: 'Fail unless the bundle has this digest.' },
    json: jsonOption,
  },
  async run(args, io) {
    rejectPositionals(args, 'inspect', 'Name the bundle with --name NAME.');
    const result = await inspectBundle({
      store: openStore(args, io, readSettings(io.env)),
      name: stringValue(args, 'name'),
      expect: stringValue(args, 'expect'),
      verifyBlobs: flag(args, 'verify'),
    });
    if (flag(args, 'json')) writeJson(io, result);
    else io.stdout.write(describe(result));
    return 0;
  },
};
