import { LimitExceededError, MalformedBundleError } from '../../errors.ts';
import { lend, type BorrowedChunks } from '../../io/borrowed-chunks.ts';
import { BLOCK, parseHeader } from '../tar/tar-header.ts';
import { locateToc, looksLikeZip, type LocatedToc, type TocEntry } from './archive-toc.ts';
import type { RangeSource } from './range-source.ts';

/** The first read of an artifact's tail; most bundles' metadata fits, so one request does. */
export const DEFAULT_TAIL_BYTES = 256 * 1024;
/** Metadata (configs, manifests, index, TOC) a consumer reads into memory at most. */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;

/** What an artifact's tail says it is. */
export type ArchiveKind = { kind: 'oci-archive'; reader: OciArchiveReader } | { kind: 'zip' } | { kind: 'unknown' };

function malformed(found: string): MalformedBundleError {
  return new MalformedBundleError(`The artifact is not a readable handover archive: ${found}.`, {
    hint: 'The artifact was not written by handover export, or was truncated or altered in storage. Re-run the producer job.',
  });
}

/**
 * Reads a single-file bundle by ranges: the tail first (one request, two if
 * the metadata is larger than the first guess), from which the index,
 * manifests and configs are served out of memory; any other entry (a layer)
 * is read by its own range request only when asked for, so layers nobody
 * asks for are never downloaded. Bytes are raw: the caller verifies them by
 * digest, as with any bundle source.
 */
export class OciArchiveReader {
  private readonly source: RangeSource;
  private readonly toc: LocatedToc;
  private readonly byName: Map<string, TocEntry>;
  /** Bytes [tailStart, size) of the archive. */
  private readonly tail: Buffer;
  private readonly tailStart: number;

  private constructor(source: RangeSource, toc: LocatedToc, tail: Buffer, tailStart: number) {
    this.source = source;
    this.toc = toc;
    this.byName = new Map(toc.entries.map((e) => [e.name, e]));
    this.tail = tail;
    this.tailStart = tailStart;
  }

  /**
   * Reads the tail and tells what the artifact is: a handover archive (with
   * its reader), a zip (the earlier artifact form), or neither.
   */
  static async open(source: RangeSource, options: { tailBytes?: number; maxMetadataBytes?: number } = {}): Promise<ArchiveKind> {
    const size = source.size;
    let tailStart = Math.max(0, size - (options.tailBytes ?? DEFAULT_TAIL_BYTES));
    let tail = await source.bytes(tailStart, size);
    let toc = locateToc(tail, tailStart, size);
    if (toc === undefined) {
      if (looksLikeZip(tail)) return { kind: 'zip' };
      if (tailStart === 0) return { kind: 'unknown' };
      // A table of contents longer than the first guess: read back to the end of the layers' region at most.
      const max = options.maxMetadataBytes ?? MAX_METADATA_BYTES;
      const wider = Math.max(0, size - max);
      const more = await source.bytes(wider, tailStart);
      tail = Buffer.concat([more, tail]);
      tailStart = wider;
      toc = locateToc(tail, tailStart, size);
      if (toc === undefined) return { kind: 'unknown' };
    }
    if (toc.metadataOffset < tailStart) {
      const max = options.maxMetadataBytes ?? MAX_METADATA_BYTES;
      if (size - toc.metadataOffset > max) {
        throw new LimitExceededError(`The archive's metadata (configs, manifests, index) spans ${size - toc.metadataOffset} bytes; at most ${max} are read.`, {
          hint: 'A bundle\'s metadata is a few KiB per image; this archive was not written by handover or was crafted. Do not use it.',
        });
      }
      const more = await source.bytes(toc.metadataOffset, tailStart);
      tail = Buffer.concat([more, tail]);
      tailStart = toc.metadataOffset;
    }
    return { kind: 'oci-archive', reader: new OciArchiveReader(source, toc, tail, tailStart) };
  }

  get size(): number {
    return this.source.size;
  }

  /** Every entry but the table of contents, in archive order. */
  get entries(): readonly TocEntry[] {
    return this.toc.entries;
  }

  /** Bytes of the archive read so far into memory (the tail). */
  get tailBytes(): number {
    return this.tail.length;
  }

  entry(name: string): TocEntry | undefined {
    return this.byName.get(name);
  }

  /** Whether an entry's data lies in the tail already read. */
  inTail(name: string): boolean {
    const entry = this.byName.get(name);
    return entry !== undefined && entry.offset - BLOCK >= this.tailStart;
  }

  /**
   * An entry's bytes whole (a document: index, manifest, config), from the
   * tail when there, else by one range request; `limit` bounds the size
   * accepted before anything is read.
   */
  async entryBytes(name: string, limit: number): Promise<Buffer> {
    const entry = this.require(name);
    if (entry.size > limit) {
      throw new LimitExceededError(`Archive entry ${name} is ${entry.size} bytes; at most ${limit} are accepted.`, {
        hint: 'The bundle was not written by handover export or was crafted; do not use it.',
      });
    }
    const start = entry.offset - BLOCK;
    const block =
      start >= this.tailStart ? this.tail.subarray(start - this.tailStart, entry.offset + entry.size - this.tailStart) : await this.source.bytes(start, entry.offset + entry.size);
    this.checkHeader(entry, block.subarray(0, BLOCK));
    return block.subarray(BLOCK);
  }

  /**
   * An entry's bytes, borrowed (each chunk valid until the next is asked
   * for): one range request from its tar header (checked to name this entry
   * with this size) to its last byte; from memory when it lies in the tail.
   */
  async *openEntry(name: string): BorrowedChunks {
    const entry = this.require(name);
    if (this.inTail(name)) {
      yield lend(this.tail.subarray(entry.offset - this.tailStart, entry.offset + entry.size - this.tailStart));
      return;
    }
    let head: Buffer = Buffer.alloc(0);
    for await (const chunk of this.source.chunks(entry.offset - BLOCK, entry.offset + entry.size)) {
      if (head.length >= BLOCK) {
        yield chunk;
        continue;
      }
      const need = BLOCK - head.length;
      head = Buffer.concat([head, chunk.subarray(0, need)]);
      if (head.length === BLOCK) this.checkHeader(entry, head);
      if (chunk.length > need) yield lend(chunk.subarray(need));
    }
    if (head.length < BLOCK) throw malformed(`entry ${entry.name} ends inside its header`);
  }

  private checkHeader(entry: TocEntry, block: Buffer): void {
    const header = parseHeader(block);
    if (header === undefined || header.type !== 'file' || header.name !== entry.name || header.size !== entry.size) {
      throw malformed(`the table of contents places ${entry.name} (${entry.size} bytes) at ${entry.offset}, but the tar header there says ${header === undefined ? 'nothing readable' : `${header.name} (${header.size} bytes)`}`);
    }
  }

  private require(name: string): TocEntry {
    const entry = this.byName.get(name);
    if (entry === undefined) throw malformed(`it has no entry ${name}`);
    return entry;
  }
}
