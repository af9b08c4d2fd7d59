import { chainIds } from '../../bundle/chain-ids.ts';
import type { Engine } from '../../engine/engine.ts';

/** Looking further than this many images for layers to skip costs more than it saves. */
const MAX_IMAGES_EXAMINED = 500;

/**
 * The layer chains the engine already holds, found from its images. A
 * classic engine loading docker save's layout reuses a layer whose chain it
 * has without reading the layer's file, so those need not be sent. Engines
 * on containerd's store work differently: callers skip nothing for them.
 */
export async function chainsOnEngine(engine: Engine): Promise<Set<string>> {
  const chains = new Set<string>();
  const ids = (await engine.listImageIds()).slice(0, MAX_IMAGES_EXAMINED);
  for (const id of ids) {
    const info = await engine.inspectImage(id);
    if (info !== undefined) for (const chain of chainIds(info.diffIds)) chains.add(chain);
  }
  return chains;
}
