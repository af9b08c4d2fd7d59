import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buildIndex, buildManifest } from '../../src/bundle/build.ts';
import { MediaType } from '../../src/bundle/media-types.ts';
import { sha256Digest, type Digest } from '../../src/digest/digest.ts';
import type { OciArchiveWriter, WrittenArchive } from '../../src/archive/oci-archive/oci-archive-writer.ts';

export interface SyntheticLayer {
  digest: Digest;
  bytes: Buffer;
}

/** A bundle of one image whose layers are random bytes: enough for archive and protocol tests (not for an engine). */
export interface SyntheticBundle {
  layers: SyntheticLayer[];
  config: Buffer;
  manifest: Buffer;
  index: Buffer;
  digest: Digest;
}

export function syntheticBundle(layerSizes: readonly number[], tag = 'charon:local'): SyntheticBundle {
  const layers = layerSizes.map((size) => {
    const bytes = randomBytes(size);
    return { digest: sha256Digest(bytes), bytes };
  });
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {} }),
  );
  const configDigest = sha256Digest(config);
  const manifest = Buffer.from(
    buildManifest({
      config: { digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, digest: l.digest, size: l.bytes.length })),
    }),
  );
  const manifestDigest = sha256Digest(manifest);
  const index = Buffer.from(
    buildIndex(
      [
        {
          manifest: { digest: manifestDigest, size: manifest.length },
          tags: [tag],
          qualifiedNames: [`docker.io/library/${tag}`],
          imageId: configDigest,
          sourceId: undefined,
          sourceRef: undefined,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
      { created: new Date('2026-11-30T00:00:00Z'), producer: {} },
    ),
  );
  return { layers, config, manifest, index, digest: sha256Digest(index) };
}

/** Writes a synthetic bundle's blobs as the export flow would: layers as they come, config and manifest held. */
export async function appendSyntheticBlobs(bundle: SyntheticBundle, writer: OciArchiveWriter): Promise<void> {
  for (const layer of bundle.layers) await writer.appendBlob(layer.digest, layer.bytes.length, Readable.from([layer.bytes]));
  writer.holdBlob(bundle.config);
  writer.holdBlob(bundle.manifest);
}

/** Writes a whole synthetic bundle as an archive. */
export async function writeSyntheticArchive(bundle: SyntheticBundle, writer: OciArchiveWriter): Promise<WrittenArchive> {
  await appendSyntheticBlobs(bundle, writer);
  return await writer.finish(bundle.index);
}
