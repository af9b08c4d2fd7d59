/**
 * Fixed read buffers, counted by how many body chunks still view them. net
 * asks for the buffer of the next read right after each read (`reserve`),
 * even when it is about to pause, so the reader pauses while one is still
 * free: an image of any size passes through the same 2 MiB and leaves the
 * garbage collector nothing to chase.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly owned = new Set<Buffer>();
  private readonly users = new Map<Buffer, number>();
  private readonly size: number;
  /** Buffers not made yet: a short answer needs one, a stream all. */
  private unmade: number;
  onFree: () => void = () => undefined;

  constructor(count: number, size: number) {
    this.unmade = count;
    this.size = size;
  }

  /** Free buffers, made or not. */
  get available(): number {
    return this.free.length + this.unmade;
  }

  /** The buffer the next read fills, taken out of the free list. */
  reserve(): Buffer {
    if (this.free.length === 0 && this.unmade > 0) {
      this.unmade--;
      const made = Buffer.allocUnsafe(this.size);
      this.owned.add(made);
      return made;
    }
    // Never empty while the reader pauses in time; a stray buffer is not kept.
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  /** A read filled the buffer: it is in use until every view of it is released. */
  filled(buffer: Buffer): void {
    this.users.set(buffer, 1);
  }

  use(buffer: Buffer): void {
    this.users.set(buffer, (this.users.get(buffer) ?? 0) + 1);
  }

  release(buffer: Buffer): void {
    const left = (this.users.get(buffer) ?? 1) - 1;
    if (left > 0) {
      this.users.set(buffer, left);
      return;
    }
    this.users.delete(buffer);
    if (this.owned.has(buffer)) this.free.push(buffer);
    this.onFree();
  }
}
