import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';

const HIGH_WATER = 1024 * 1024;

/**
 * A child process as a stream stage: bytes written go to its stdin, its
 * stdout is what can be read. Back-pressure holds both ways (its stdout is
 * paused while our reader is full). The stream ends only once the process
 * has exited 0; any other exit fails it with what the process said.
 */
export class ProcessTransform extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private outputEnded = false;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(command: string, args: readonly string[]) {
    super({ readableHighWaterMark: HIGH_WATER, writableHighWaterMark: HIGH_WATER });
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', (error) => this.destroy(error));
    this.child.stdin.on('error', (error) => this.destroy(error));
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.child.stdout.pause();
    });
    this.child.stdout.on('end', () => {
      this.outputEnded = true;
      this.settle();
    });
    this.child.on('close', (code, signal) => {
      this.exit = { code, signal };
      this.settle();
    });
  }

  private settle(): void {
    if (!this.outputEnded || this.exit === undefined || this.destroyed) return;
    if (this.exit.code === 0) {
      this.push(null);
      return;
    }
    const how = this.exit.code === null ? `signal ${this.exit.signal ?? '?'}` : `status ${this.exit.code}`;
    this.destroy(new Error(`${this.child.spawnfile} exited with ${how}${this.stderr === '' ? '' : `: ${this.stderr.trim()}`}`));
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.child.stdin.write(chunk)) callback();
    else this.child.stdin.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.exit === undefined) this.child.kill('SIGKILL');
    callback(error);
  }
}
