import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readImageArchive, type LayerSink } from '../../../src/archive/image-archive.ts';
import { writeTar, type TarFile } from '../../../src/archive/tar/tar-writer.ts';
import { byteEdits, inChunks, mutate, replaceAt, runs, typedOrValueWithin } from './fuzz.ts';

const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Drains each layer and describes it, as export's sink would after storing it. */
const sink: LayerSink = async (body, kind) => {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, mediaType: kind, uncompressedSize: undefined, written: true };
};

async function tarOf(files: Record<string, Uint8Array | string>): Promise<Buffer> {
  const entries: TarFile[] = Object.entries(files).map(([name, content]) => {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    return { name, size: bytes.length, content: function* () { yield bytes; } };
  });
  const out: Uint8Array[] = [];
  for await (const piece of writeTar(entries)) out.push(piece);
  return Buffer.concat(out);
}

/** A layer: itself a tar of one file. */
const layer = await tarOf({ 'etc/greeting': 'hello\n' });
const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] } });

/** The JSON documents of a docker save archive and of an OCI layout, which mutations edit. */
function legacyDocuments(): Record<string, unknown> {
  return { 'manifest.json': [{ Config: `${sha(config)}.json`, RepoTags: ['charon:local'], Layers: ['layer1/layer.tar'] }] };
}
async function legacyArchive(documents: Record<string, unknown>): Promise<Buffer> {
  return await tarOf({ [`${sha(config)}.json`]: config, 'layer1/layer.tar': layer, 'manifest.json': JSON.stringify(documents['manifest.json']) });
}
function ociManifest(): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(layer)}`, size: layer.length }],
  };
}
async function ociArchive(manifest: unknown, index: (manifestDigest: string, size: number) => unknown): Promise<Buffer> {
  const manifestText = JSON.stringify(manifest) ?? 'null';
  return await tarOf({
    'oci-layout': '{"imageLayoutVersion":"1.0.0"}',
    [`blobs/sha256/${sha(config)}`]: config,
    [`blobs/sha256/${sha(layer)}`]: layer,
    [`blobs/sha256/${sha(manifestText)}`]: manifestText,
    'index.json': JSON.stringify(index(`sha256:${sha(manifestText)}`, manifestText.length)) ?? 'null',
  });
}
const ociIndex = (digest: string, size: number): unknown => ({
  schemaVersion: 2,
  manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size, annotations: { 'io.containerd.image.name': 'docker.io/library/charon:local' } }],
});


async function read(bytes: Uint8Array): Promise<unknown> {
  return await typedOrValueWithin(3000, async () => {
    const { images } = await readImageArchive(inChunks(bytes, 700), sink);
    for (const image of images) expect(image.layers.length).toBeGreaterThanOrEqual(0);
    return images;
  });
}

const path = fc.array(fc.nat({ max: 8 }), { minLength: 0, maxLength: 5 });
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('../../etc/passwd', '/etc/passwd', 'sha256:../x', 'blobs/sha256/../../x', null, [], {}, 'application/vnd.oci.image.index.v1+json', -5),
);
const edits = byteEdits(6);

describe('the image archive reader under fuzzing', () => {
  it('reads the seeds', async () => {
    expect((await readImageArchive(inChunks(await legacyArchive(legacyDocuments()), 4096), sink)).images).toHaveLength(1);
    expect((await readImageArchive(inChunks(await ociArchive(ociManifest(), ociIndex), 4096), sink)).images).toHaveLength(1);
  });

  it('docker save archives with a hostile value in manifest.json: images or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(path, hostileValue, async (at, value) => {
        const documents = legacyDocuments();
        documents['manifest.json'] = replaceAt(documents['manifest.json'], at, value);
        await read(await legacyArchive(documents));
      }),
      runs(400),
    );
  });

  it('OCI layouts with a hostile value in the manifest or index.json: images or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(path, hostileValue, fc.boolean(), async (at, value, inIndex) => {
        const archive = inIndex
          ? await ociArchive(ociManifest(), (d, s) => replaceAt(ociIndex(d, s), at, value))
          : await ociArchive(replaceAt(ociManifest(), at, value), ociIndex);
        await read(archive);
      }),
      runs(400),
    );
  });

  it('either kind with bytes flipped, deleted, inserted or cut: images or a typed error, never a hang', async () => {
    const seeds = [await legacyArchive(legacyDocuments()), await ociArchive(ociManifest(), ociIndex)];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1), edits, async (which, e) => {
        await read(mutate(seeds[which]!, e));
      }),
      runs(400),
    );
  });
});

