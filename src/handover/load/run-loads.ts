import { writeTar, type TarFile } from '../../archive/tar/tar-writer.ts';
import type { Engine } from '../../engine/engine.ts';
import type { LoadStep } from './load-plan.ts';

/**
 * Runs the planned loads in order, overlapping them: a load's layer streams
 * in while the engine still applies the load before. Its manifest.json,
 * which starts the engine's work on it, is held back until the load before
 * has finished, so the engine registers layers bottom up and finds each
 * one's parent in place. `onAllSent` marks when the last layer byte is out.
 * Resolves with every load's messages. A failure stops the loads still
 * streaming and waits for those the engine already works on.
 */
export async function runLoads(engine: Engine, steps: readonly LoadStep[], signal: AbortSignal | undefined, onAllSent: () => void): Promise<string[]> {
  const loads: Array<Promise<string[]>> = [];
  // Loads not yet given their manifest: the engine drops them when stopped.
  const cancellable = new Set<AbortController>();
  const stopOthers = (error: unknown): void => {
    for (const controller of cancellable) controller.abort(error);
  };
  let previous: Promise<unknown> = Promise.resolve();
  let failed = false;
  for (const [i, step] of steps.entries()) {
    const gate = previous;
    const controller = new AbortController();
    cancellable.add(controller);
    let markSent = (): void => undefined;
    const sent = new Promise<void>((resolve) => (markSent = resolve));
    const [first, ...rest] = step.closing;
    if (first === undefined) throw new Error('a load step needs a closing file (manifest.json or index.json)');
    // What makes the engine register the load goes out only once the load before has finished.
    const gated: TarFile = {
      ...first,
      content: async function* () {
        markSent();
        if (i === steps.length - 1) onAllSent();
        await gate;
        // From here the engine will finish this load whatever happens to the others.
        cancellable.delete(controller);
        yield* first.content();
      },
    };
    const stop = signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]);
    const load = engine.loadImages(writeTar([...step.files, gated, ...rest]), stop);
    load.catch((error: unknown) => {
      failed = true;
      stopOthers(error);
    });
    loads.push(load);
    await Promise.race([sent, load.then(() => undefined, () => undefined)]);
    if (failed) break;
    previous = load;
  }
  // Waits for loads the engine is still applying, so nothing registers after this returns.
  const settled = await Promise.allSettled(loads);
  // The earliest load's failure is the cause; later ones fail because of it.
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return settled.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
}
