import { spawnSync } from 'node:child_process';
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress } from 'node:zlib';
import type { Duplex, Transform } from 'node:stream';
import type { Compression } from '../bundle/media-types.ts';
import { FixedChunks } from './fixed-chunks.ts';

/** zstd level 3: the expert shell pipeline's choice, near gzip -9's ratio at many times the speed. */
export const ZSTD_LEVEL = 3;
const CHUNK = 256 * 1024;

/** The input cut the in-process compressors get: see FixedChunks. */
export const COMPRESS_INPUT_CHUNK = 1024 * 1024;

let zstdCommand: boolean | undefined;

/** How the zstd command compresses: level 3 on every core, to stdout. */
export const ZSTD_ARGS = [`-${ZSTD_LEVEL}`, '-T0', '-q', '-c', '--no-progress'];

/** How zstd layers are (de)compressed: by the zstd command when installed, or in this process. */
export type ZstdCodec = 'command' | 'builtin';

/**
 * Whether the zstd command is to be used. It compresses on every core
 * (Node's zstd uses one), and its output does not depend on how many cores
 * or how the input was cut, so digests still repeat. 'builtin' keeps
 * compression in process.
 */
export function useZstdCommand(codec: ZstdCodec): boolean {
  if (codec === 'builtin') return false;
  zstdCommand ??= spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
  return zstdCommand;
}

/** The in-process stages that compress a layer, in order (the zstd command is run by compressToFile). */
export function compressionStages(compression: Exclude<Compression, 'none'>): Duplex[] {
  if (compression === 'gzip') return [new FixedChunks(COMPRESS_INPUT_CHUNK), createGzip({ level: 6, chunkSize: CHUNK })];
  return [
    new FixedChunks(COMPRESS_INPUT_CHUNK),
    createZstdCompress({ chunkSize: CHUNK, params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } }),
  ];
}

export function decompressor(compression: Exclude<Compression, 'none'>): Transform {
  return compression === 'gzip' ? createGunzip({ chunkSize: CHUNK }) : createZstdDecompress({ chunkSize: CHUNK });
}
