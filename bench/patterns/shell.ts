/**
 * Shared pieces of the patterns that are shell pipelines around
 * `docker save` and `docker load`.
 */
import { join } from 'node:path';
import { readRssKiB, rssPrefix, sh, sizeOf, type RunResult } from '../measure.ts';
import type { HandoverCase, SideResult } from './pattern.ts';

export function onProducer(c: HandoverCase): Record<string, string> {
  return { DOCKER_HOST: c.engines.producer };
}

export function onConsumer(c: HandoverCase): Record<string, string> {
  return { DOCKER_HOST: c.engines.consumer };
}

/** Runs one side's script and reads the peak RSS that rssPrefix(rssFile) recorded in it. */
export async function timedSide(
  script: string,
  env: Record<string, string>,
  rssFile?: string,
): Promise<SideResult & { run: RunResult }> {
  const result = await sh(script, { env });
  const side: SideResult & { run: RunResult } = { wallMs: result.wallMs, run: result };
  if (rssFile !== undefined) {
    const kib = await readRssKiB(rssFile);
    if (kib !== undefined) side.peakRssKiB = kib;
  }
  return side;
}

export function rssFile(c: HandoverCase, side: string): string {
  return join(c.rawDir, `${c.key}-${side}.rss`);
}

export { rssPrefix, sizeOf };
