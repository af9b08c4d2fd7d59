import { MalformedArchiveError } from '../../errors.ts';
import type { BorrowedChunk } from '../../io/borrowed-chunks.ts';
import { ByteSource } from './byte-source.ts';
import { BLOCK, isZeroBlock, padding, parseHeader, type TarHeader } from './tar-header.ts';

export interface TarEntry {
  header: TarHeader;
  /** The entry's bytes; whatever the consumer leaves unread is skipped. */
  body: AsyncGenerator<BorrowedChunk>;
}

/** Extended headers larger than this are refused: they hold a path or two. */
const MAX_META_BYTES = 1024 * 1024;

function malformed(why: string, at: number): MalformedArchiveError {
  return new MalformedArchiveError(`The image archive is not a valid tar file: ${why} (at byte ${at}).`, {
    hint: 'Pass an archive written by docker save, or by buildx with type=docker or type=oci.',
  });
}

function parsePax(meta: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < meta.length) {
    const space = meta.indexOf(0x20, offset);
    const length = Number(meta.subarray(offset, space).toString('latin1'));
    if (space === -1 || !Number.isInteger(length) || length <= space - offset) break;
    const record = meta.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq !== -1) records[record.slice(0, eq)] = record.slice(eq + 1);
    offset += length;
  }
  return records;
}

/**
 * Reads a tar stream entry by entry. Each entry's body must be consumed (or
 * is skipped) before the next is produced, so memory holds one chunk at a
 * time whatever the archive's size.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const bytes = new ByteSource(source);
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  try {
    for (;;) {
      const at = bytes.position;
      const block = await bytes.read(BLOCK);
      if (block.length === 0) return; // some writers omit the end-of-archive blocks
      if (block.length < BLOCK) throw malformed('it ends inside a header', at);
      if (isZeroBlock(block)) return;
      const parsed = parseHeader(block);
      if (parsed === undefined) throw malformed('a header has a bad checksum or field', at);
      if (parsed.type === 'pax' || parsed.type === 'gnu-longname' || parsed.type === 'pax-global' || parsed.type === 'gnu-longlink') {
        if (parsed.size > MAX_META_BYTES) throw malformed(`an extended header of ${parsed.size} bytes`, at);
        const meta = await bytes.read(parsed.size);
        if (meta.length < parsed.size) throw malformed('it ends inside an extended header', at);
        await bytes.skip(padding(parsed.size));
        if (parsed.type === 'pax') pax = parsePax(meta);
        if (parsed.type === 'gnu-longname') longName = meta.toString('utf8').replace(/\0+$/, '');
        continue;
      }
      const header: TarHeader = {
        ...parsed,
        name: pax['path'] ?? longName ?? parsed.name,
        size: pax['size'] === undefined ? parsed.size : Number(pax['size']),
        linkname: pax['linkpath'] ?? parsed.linkname,
      };
      pax = {};
      longName = undefined;
      if (!Number.isSafeInteger(header.size) || header.size < 0) throw malformed(`entry '${header.name}' has size ${header.size}`, at);
      const size = header.type === 'file' ? header.size : 0;
      let consumed = 0;
      const body = (async function* () {
        for await (const chunk of bytes.chunks(size)) {
          consumed += chunk.length;
          yield chunk;
        }
      })();
      yield { header, body };
      // Skip what the consumer left unread, then the padding.
      const left = size - consumed;
      if (left > 0 && (await bytes.skip(left)) < left) {
        throw malformed(`it ends inside entry '${header.name}'`, bytes.position);
      }
      await bytes.skip(padding(size));
    }
  } finally {
    await bytes.close();
  }
}
