import type { Writable } from 'node:stream';
import { OciArchiveWriter, type WrittenArchive } from '../../src/archive/oci-archive/oci-archive-writer.ts';
import { parseIndex, parseManifest } from '../../src/bundle/parse.ts';
import { ownedChunks } from '../../src/io/borrowed-chunks.ts';
import type { BundleSource } from '../../src/store/store.ts';

async function readAll(source: BundleSource, digest: `sha256:${string}`): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await source.openBlob(digest)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Writes a bundle read from any store as a single-file OCI archive, in the
 * order export will stream it: each image's layers bottom up, then the rest.
 */
export async function writeBundleArchive(source: BundleSource, sink: Writable): Promise<WrittenArchive> {
  const writer = new OciArchiveWriter(sink);
  const index = await source.readIndex();
  for (const image of parseIndex(index).images) {
    const manifestBytes = await readAll(source, image.manifest.digest);
    const manifest = parseManifest(manifestBytes);
    for (const layer of manifest.layers) await writer.appendBlob(layer.digest, layer.size, ownedChunks(await source.openBlob(layer.digest)));
    writer.holdBlob(await readAll(source, manifest.config.digest));
    writer.holdBlob(manifestBytes);
  }
  return await writer.finish(index);
}
