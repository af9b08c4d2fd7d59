/** What long work reports as it goes, for a progress display or a log. */
export interface ProgressEvent {
  phase: string;
  /** Bytes done in this phase so far. */
  bytes: number;
  /** Expected bytes, when known (an estimate from the engine's image size). */
  total: number | undefined;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** Wall-clock time of each phase, in milliseconds, in the order they ran. */
export type PhaseTimings = Record<string, number>;

/** Times consecutive phases: `start(name)` ends the previous one. */
export class PhaseClock {
  private readonly timings: PhaseTimings = {};
  private current: { name: string; started: number } | undefined;
  private readonly began = performance.now();

  start(name: string): void {
    this.stop();
    this.current = { name, started: performance.now() };
  }

  stop(): void {
    if (this.current === undefined) return;
    this.timings[this.current.name] = (this.timings[this.current.name] ?? 0) + performance.now() - this.current.started;
    this.current = undefined;
  }

  result(): { phases: PhaseTimings; totalMs: number } {
    this.stop();
    const phases = Object.fromEntries(Object.entries(this.timings).map(([k, v]) => [k, Math.round(v)]));
    return { phases, totalMs: Math.round(performance.now() - this.began) };
  }
}
