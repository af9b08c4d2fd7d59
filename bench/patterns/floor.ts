/**
 * The engine's floor: what save and load cost with nothing else in the way.
 * The producer side streams `docker save` into /dev/null; the consumer loads
 * a plain tar that an untimed `docker save -o` wrote and that is in the page
 * cache.
 */
import { join } from 'node:path';
import { q, sh, sizeOf } from '../measure.ts';
import type { HandoverCase, Pattern } from './pattern.ts';
import { onConsumer, onProducer, timedSide } from './shell.ts';

function tarOf(c: HandoverCase): string {
  return join(c.storeDir, `${c.key}.tar`);
}

export const floorPattern: Pattern = {
  id: 'floor',
  label: 'engine floor (save > /dev/null; load plain tar)',
  producerCommand: 'docker save IMAGE > /dev/null',
  consumerCommand: 'docker load -i image.tar   # tar written untimed, in the page cache',
  unavailable: () => Promise.resolve(undefined),
  async prepare(c) {
    await sh(`docker save -o ${q(tarOf(c))} ${q(c.image.ref)}`, { env: onProducer(c) });
  },
  async produce(c) {
    return await timedSide(`docker save ${q(c.image.ref)} > /dev/null`, onProducer(c));
  },
  async betweenSides(c) {
    // Warm the page cache for the tar, as the floor assumes.
    await sh(`cat ${q(tarOf(c))} > /dev/null`);
  },
  async consume(c) {
    const side = await timedSide(`docker load -q -i ${q(tarOf(c))}`, onConsumer(c));
    return { wallMs: side.wallMs, bytesMoved: await sizeOf(tarOf(c)), bytesToEngine: c.tarBytes };
  },
};
