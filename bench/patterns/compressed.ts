/**
 * The shell pipelines people write: `docker save | COMPRESSOR > file` on the
 * producer, `DECOMPRESSOR < file | docker load` on the consumer.
 */
import { join } from 'node:path';
import { q, sizeOf } from '../measure.ts';
import type { Pattern } from './pattern.ts';
import { onConsumer, onProducer, rssFile, rssPrefix, timedSide } from './shell.ts';

interface PipelineSpec {
  id: string;
  label: string;
  extension: string;
  compress: string;
  decompress: string;
}

function pipelinePattern(spec: PipelineSpec): Pattern {
  const file = (c: { storeDir: string; key: string }) => join(c.storeDir, `${c.key}.tar.${spec.extension}`);
  return {
    id: spec.id,
    label: spec.label,
    producerCommand: `docker save IMAGE | ${spec.compress} > image.tar.${spec.extension}`,
    consumerCommand: `${spec.decompress} < image.tar.${spec.extension} | docker load`,
    rssOf: spec.compress.split(' ')[0] ?? spec.compress,
    unavailable: () => Promise.resolve(undefined),
    async produce(c) {
      const rss = rssFile(c, 'compress');
      return await timedSide(`docker save ${q(c.image.ref)} | ${rssPrefix(rss)} ${spec.compress} > ${q(file(c))}`, onProducer(c), rss);
    },
    async consume(c) {
      const rss = rssFile(c, 'decompress');
      const side = await timedSide(`${rssPrefix(rss)} ${spec.decompress} < ${q(file(c))} | docker load -q`, onConsumer(c), rss);
      return { ...side, bytesMoved: await sizeOf(file(c)), bytesToEngine: c.tarBytes };
    },
  };
}

export const gzipPattern = pipelinePattern({
  id: 'gzip',
  label: 'save | gzip, gunzip | load',
  extension: 'gz',
  compress: 'gzip -6 -c',
  decompress: 'gzip -d -c',
});

export const zstdPattern = pipelinePattern({
  id: 'zstd',
  label: 'save | zstd -T0 -3, zstd -d | load',
  extension: 'zst',
  compress: 'zstd -T0 -3 -q -c',
  decompress: 'zstd -d -q -c',
});
