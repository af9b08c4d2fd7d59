import { createHash } from 'node:crypto';

/** The chain ids of an image's layers: each names a layer together with all below it. */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = [];
  for (const diffId of diffIds) {
    const parent = chains.at(-1);
    chains.push(parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`);
  }
  return chains;
}
