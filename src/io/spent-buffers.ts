import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'minor' }) => void;

/** Bytes streamed between two minor collections. */
const EVERY_BYTES = 8 * 1024 * 1024;

function exposedGc(): Collect | undefined {
  const existing = (globalThis as { gc?: Collect }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as Collect;
  } catch {
    return undefined;
  }
}

let collect: Collect | undefined | null = null;

/**
 * Returns a counter for bytes streamed that runs a minor garbage collection
 * every 8 MiB. Streamed data lives in buffers outside V8's heap, each behind
 * a small object inside it; V8 collects when its heap grows, which a stream
 * of large chunks barely makes it do, so spent buffers pile up by the tens of
 * MiB. A minor collection frees them in well under a millisecond.
 */
export function spentBufferCollector(): (bytes: number) => void {
  collect ??= exposedGc();
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < EVERY_BYTES) return;
    since = 0;
    collect?.({ type: 'minor' });
  };
}
