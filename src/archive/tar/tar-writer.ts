import { BLOCK, fileHeader, padding } from './tar-header.ts';

export interface TarFile {
  name: string;
  size: number;
  /** Permission bits; 0644 when not given. */
  mode?: number;
  /** The file's bytes; must yield exactly `size` bytes. */
  content: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/**
 * Writes regular files as a tar stream. Content is pulled file by file, so
 * at most one chunk is held at a time; a file that yields the wrong number
 * of bytes fails the stream instead of producing a corrupt archive.
 */
export async function* writeTar(files: AsyncIterable<TarFile> | Iterable<TarFile>): AsyncGenerator<Uint8Array> {
  for await (const file of files) {
    yield fileHeader(file.name, file.size, file.mode);
    let written = 0;
    for await (const chunk of file.content()) {
      written += chunk.length;
      if (written > file.size) throw new RangeError(`tar entry ${file.name} yielded more than its ${file.size} bytes`);
      yield chunk;
    }
    if (written !== file.size) throw new RangeError(`tar entry ${file.name} yielded ${written} of its ${file.size} bytes`);
    const pad = padding(file.size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(BLOCK * 2);
}
