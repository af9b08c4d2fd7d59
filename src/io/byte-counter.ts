import { Transform, type TransformCallback } from 'node:stream';

const REPORT_EVERY_MS = 250;

/** Reports progress no more than four times a second. */
function throttled(report: ((bytes: number) => void) | undefined): (bytes: number) => void {
  let last = 0;
  return (bytes) => {
    const now = performance.now();
    if (report === undefined || now - last < REPORT_EVERY_MS) return;
    last = now;
    report(bytes);
  };
}

/** Passes bytes through, counting them. */
export class ByteCounter extends Transform {
  bytes = 0;
  private readonly report: (bytes: number) => void;

  constructor(onBytes?: (bytes: number) => void) {
    super();
    this.report = throttled(onBytes);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.report(this.bytes);
    callback(null, chunk);
  }
}

/** Counts the bytes of a pull-based stream as they are taken, keeping back-pressure; `onChunk` sees every chunk's length. */
export function countBytes(
  source: AsyncIterable<Uint8Array>,
  onBytes?: (bytes: number) => void,
  onChunk?: (length: number) => void,
): { stream: AsyncGenerator<Uint8Array>; bytes: () => number } {
  let total = 0;
  const report = throttled(onBytes);
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      total += chunk.length;
      report(total);
      onChunk?.(chunk.length);
      yield chunk;
    }
  }
  return { stream: counted(), bytes: () => total };
}
