import { OciArchiveReader, type ArchiveKind } from '../../archive/oci-archive/oci-archive-reader.ts';
import type { RangeSource } from '../../archive/oci-archive/range-source.ts';
import { RangedBlob, type RangedBlobOptions } from './blob-storage/ranged-blob.ts';
import type { ArtifactRecord, ArtifactServiceClient } from './service/artifact-service-client.ts';

/** A blob behind a signed URL as a RangeSource. */
export async function blobRangeSource(blob: RangedBlob): Promise<RangeSource> {
  const { size } = await blob.properties();
  return { size, bytes: async (start, end) => await blob.bytes(start, end), chunks: (start, end) => blob.chunks(start, end) };
}

export interface OpenedArtifact {
  artifact: ArtifactRecord;
  blob: RangedBlob;
  /** What the artifact holds: a handover archive (with its reader), a zip (the earlier form), or neither. */
  content: ArchiveKind;
}

/**
 * Opens the newest artifact of a name for ranged reading: its signed URL
 * (fetched again if storage refuses it as expired), and its tail, which
 * says what it is. Undefined when the run has no artifact of that name.
 */
export async function openArtifact(
  client: ArtifactServiceClient,
  name: string,
  options: Omit<RangedBlobOptions, 'refreshUrl'> & { tailBytes?: number } = {},
): Promise<OpenedArtifact | undefined> {
  const [artifact] = await client.listArtifacts({ name });
  if (artifact === undefined) return undefined;
  const url = await client.signedArtifactUrl(artifact);
  const blob = new RangedBlob(url, { ...options, refreshUrl: async () => await client.signedArtifactUrl(artifact) });
  const content = await OciArchiveReader.open(await blobRangeSource(blob), options.tailBytes === undefined ? {} : { tailBytes: options.tailBytes });
  return { artifact, blob, content };
}
