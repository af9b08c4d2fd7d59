import { writeTar } from '../../../../src/archive/tar/tar-writer.ts';
import { collect, pattern } from '../support.ts';

/** A layer: a tar of files named by index, each of `size` patterned bytes. */
export async function layerTar(seed: number, sizes: readonly number[]): Promise<Buffer> {
  const files = sizes.map((size, i) => {
    const bytes = pattern(size, seed * 100 + i);
    return { name: `layer${seed}/file${i}`, size, content: () => [bytes] };
  });
  return await collect(writeTar(files));
}

/** Three layers: a large bottom one (a base image) and two small ones on top. */
export async function appLayers(): Promise<Buffer[]> {
  return [await layerTar(1, [300_000, 50_000]), await layerTar(2, [20_000]), await layerTar(3, [5_000])];
}
