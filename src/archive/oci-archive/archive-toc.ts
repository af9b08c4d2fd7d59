import { MalformedBundleError } from '../../errors.ts';
import { BLOCK, isZeroBlock, parseHeader } from '../tar/tar-header.ts';

/**
 * The single-file bundle ends with a table of contents: a tar entry of this
 * name, last before the end-of-archive blocks, whose JSON gives every
 * entry's data offset and size. A consumer reads the archive's tail with one
 * range request, finds it, and can then fetch any entry by range.
 */
export const TOC_NAME = 'handover-toc.json';
export const TOC_VERSION = 1;

export interface TocEntry {
  /** The path in the archive: index.json, oci-layout, manifest.json or blobs/sha256/<hex>. */
  name: string;
  /** Where the entry's data starts (its tar header is the 512 bytes before). */
  offset: number;
  size: number;
}

export interface ArchiveToc {
  /** Where the entries written after the layers begin (configs, manifests, index…): the tail a consumer reads first. */
  metadataOffset: number;
  entries: TocEntry[];
}

/** Where the TOC was found, and what it says. */
export interface LocatedToc extends ArchiveToc {
  /** Offset of the TOC's own tar header. */
  tocOffset: number;
}

/** Names an entry of a handover archive may have. */
const ENTRY_NAME = /^(index\.json|oci-layout|manifest\.json|blobs\/sha256\/[0-9a-f]{64})$/;
const MAX_ENTRIES = 8192;

/**
 * The TOC's tar data: JSON padded with spaces to whole 512-byte blocks, so
 * its data ends exactly where the end-of-archive blocks begin.
 */
export function serializeToc(toc: ArchiveToc): Buffer {
  const json = JSON.stringify({
    handoverArchive: TOC_VERSION,
    metadataOffset: toc.metadataOffset,
    entries: toc.entries.map((e) => ({ name: e.name, offset: e.offset, size: e.size })),
  });
  const length = Math.ceil((Buffer.byteLength(json) + 1) / BLOCK) * BLOCK;
  const bytes = Buffer.alloc(length, 0x20);
  bytes.write(json, 0, 'utf8');
  bytes[length - 1] = 0x0a;
  return bytes;
}

function malformed(found: string): MalformedBundleError {
  return new MalformedBundleError(`The artifact is not a readable handover archive: ${found}.`, {
    hint: 'The artifact was not written by handover export, or was truncated or altered in storage. Re-run the producer job.',
  });
}

/**
 * Finds the TOC in the archive's last bytes: `tail` holds bytes
 * [tailStart, total). Returns undefined when the tail holds no TOC entry
 * (then the archive is not ours, or the tail is too short to reach it).
 * Offsets are checked to lie inside the archive, before the TOC, in whole
 * blocks; everything read through them is verified by digest anyway.
 */
export function locateToc(tail: Buffer, tailStart: number, total: number): LocatedToc | undefined {
  if (total % BLOCK !== 0 || tail.length !== total - tailStart) return undefined;
  // Past the last entry: the end-of-archive blocks (two or more zero blocks).
  let end = total;
  while (end - BLOCK >= tailStart && isZeroBlock(tail.subarray(end - BLOCK - tailStart, end - tailStart))) end -= BLOCK;
  if (total - end < 2 * BLOCK) return undefined;
  for (let at = end - 2 * BLOCK; at >= tailStart; at -= BLOCK) {
    const header = parseHeader(tail.subarray(at - tailStart, at - tailStart + BLOCK));
    if (header === undefined || header.name !== TOC_NAME || header.type !== 'file') continue;
    if (at + BLOCK + header.size !== end) return undefined;
    return { tocOffset: at, ...parseToc(tail.subarray(at + BLOCK - tailStart, end - tailStart), at) };
  }
  return undefined;
}

function parseToc(bytes: Buffer, tocOffset: number): ArchiveToc {
  let raw: { handoverArchive?: unknown; metadataOffset?: unknown; entries?: unknown };
  try {
    raw = JSON.parse(bytes.toString('utf8')) as typeof raw;
  } catch {
    throw malformed('its table of contents is not JSON');
  }
  if (raw.handoverArchive !== TOC_VERSION) throw malformed(`its table of contents has version ${String(raw.handoverArchive)}, expected ${TOC_VERSION}`);
  const metadataOffset = raw.metadataOffset;
  if (typeof metadataOffset !== 'number' || !Number.isSafeInteger(metadataOffset) || metadataOffset < 0 || metadataOffset > tocOffset || metadataOffset % BLOCK !== 0) {
    throw malformed('its table of contents gives no valid metadata offset');
  }
  if (!Array.isArray(raw.entries) || raw.entries.length > MAX_ENTRIES) throw malformed('its table of contents lists no entries, or too many');
  const names = new Set<string>();
  const entries = (raw.entries as unknown[]).map((value): TocEntry => {
    const e = value as { name?: unknown; offset?: unknown; size?: unknown } | null;
    const name = e?.name;
    const offset = e?.offset;
    const size = e?.size;
    if (typeof name !== 'string' || !ENTRY_NAME.test(name)) throw malformed(`its table of contents names an entry ${JSON.stringify(name)}`);
    if (typeof offset !== 'number' || typeof size !== 'number' || !Number.isSafeInteger(offset) || !Number.isSafeInteger(size)) {
      throw malformed(`entry ${name} has no valid offset and size`);
    }
    if (offset < BLOCK || offset % BLOCK !== 0 || size < 0 || offset + size > tocOffset) throw malformed(`entry ${name} lies outside the archive`);
    if (names.has(name)) throw malformed(`entry ${name} is listed twice`);
    names.add(name);
    return { name, offset, size };
  });
  return { metadataOffset, entries };
}

/** Whether the bytes end like a zip (an end-of-central-directory record): the artifacts' earlier form. */
export function looksLikeZip(tail: Buffer): boolean {
  // The record is 22 bytes plus a comment of up to 64 KiB.
  const from = Math.max(0, tail.length - 22 - 65535);
  return tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) >= from;
}
