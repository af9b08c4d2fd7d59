import type { ProgressEvent, ProgressListener } from '../../handover/progress.ts';
import { formatBytes, formatRate } from '../../units.ts';

const PLAIN_EVERY_MS = 5000;

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Progress for long work: a live line on a terminal (bytes, rate, phase), or
 * a plain line every few seconds in a CI log, where a rewritten line would
 * only be noise.
 */
export class ProgressDisplay {
  private readonly out: Output;
  private readonly started = performance.now();
  private lastPlain = Number.NEGATIVE_INFINITY;
  private live = false;

  constructor(out: Output) {
    this.out = out;
  }

  readonly listener: ProgressListener = (event) => this.update(event);

  private line(event: ProgressEvent): string {
    const elapsed = performance.now() - this.started;
    const total = event.total === undefined ? '' : ` / ${formatBytes(event.total)}`;
    const percent = event.total === undefined || event.total === 0 ? '' : ` (${Math.min(100, Math.floor((event.bytes * 100) / event.total))}%)`;
    return `${event.phase}: ${formatBytes(event.bytes)}${total}${percent} at ${formatRate(event.bytes, elapsed)}`;
  }

  private update(event: ProgressEvent): void {
    if (this.out.isTTY === true) {
      this.out.write(`\r\x1b[2K${this.line(event)}`);
      this.live = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastPlain < PLAIN_EVERY_MS) return;
    this.lastPlain = now;
    this.out.write(`${this.line(event)}\n`);
  }

  /** Clears the live line before the summary is printed. */
  done(): void {
    if (this.live) this.out.write('\r\x1b[2K');
    this.live = false;
  }
}
