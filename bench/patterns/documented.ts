/**
 * Docker's documented pattern as actions/upload-artifact does it by default:
 * save an uncompressed tar, zip it at deflate level 6 (upload-artifact's
 * default compression-level), and on the consumer unzip and load the tar.
 * Info-ZIP's `zip -6` plays upload-artifact's zlib deflate; no upload or
 * download is timed (no pattern's transfer is).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { q, sizeOf } from '../measure.ts';
import type { Pattern } from './pattern.ts';
import { onConsumer, onProducer, rssFile, rssPrefix, timedSide } from './shell.ts';

export const documentedPattern: Pattern = {
  id: 'documented',
  label: "Docker's documented pattern (save -o, zip -6, unzip, load)",
  producerCommand: 'docker save -o image.tar IMAGE && zip -6 artifact.zip image.tar',
  consumerCommand: 'unzip artifact.zip && docker load -i image.tar',
  rssOf: 'zip / unzip',
  unavailable: () => Promise.resolve(undefined),
  async produce(c) {
    const tar = join(c.tmpDir, `${c.key}-image.tar`);
    const zip = join(c.storeDir, `${c.key}.zip`);
    const rss = rssFile(c, 'zip');
    return await timedSide(
      `docker save -o ${q(tar)} ${q(c.image.ref)} && cd ${q(c.tmpDir)} && ${rssPrefix(rss)} zip -q -6 ${q(zip)} ${q(`${c.key}-image.tar`)}`,
      onProducer(c),
      rss,
    );
  },
  async betweenSides(c) {
    // The consumer runs on another runner: the producer's tar is not there.
    await rm(join(c.tmpDir, `${c.key}-image.tar`), { force: true });
  },
  async consume(c) {
    const zip = join(c.storeDir, `${c.key}.zip`);
    const out = join(c.tmpDir, 'unzipped');
    const rss = rssFile(c, 'unzip');
    const side = await timedSide(
      `mkdir -p ${q(out)} && ${rssPrefix(rss)} unzip -q -o ${q(zip)} -d ${q(out)} && docker load -q -i ${q(join(out, `${c.key}-image.tar`))}`,
      onConsumer(c),
      rss,
    );
    await rm(out, { recursive: true, force: true });
    return { ...side, bytesMoved: await sizeOf(zip), bytesToEngine: c.tarBytes };
  },
};
