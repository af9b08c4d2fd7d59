import { parseDigest, type Digest } from '../digest/digest.ts';
import { MalformedBundleError } from '../errors.ts';
import type { Platform } from './model.ts';

/** What handover reads of an image config. */
export interface ImageConfig {
  diffIds: Digest[];
  architecture: string | undefined;
  os: string | undefined;
}

/** Reads an image config's layer diff ids and platform; `label` names the image in messages. */
export function parseImageConfig(bytes: Buffer, label: string): ImageConfig {
  let raw: { rootfs?: { diff_ids?: unknown }; architecture?: unknown; os?: unknown };
  try {
    raw = JSON.parse(bytes.toString('utf8')) as typeof raw;
  } catch {
    throw new MalformedBundleError(`The config of ${label} is not JSON.`);
  }
  const diffIds = raw.rootfs?.diff_ids;
  if (!Array.isArray(diffIds)) throw new MalformedBundleError(`The config of ${label} lists no layer diff ids (rootfs.diff_ids).`);
  return {
    diffIds: diffIds.map((d) => parseDigest(String(d), `diff id in the config of ${label}`)),
    architecture: typeof raw.architecture === 'string' ? raw.architecture : undefined,
    os: typeof raw.os === 'string' ? raw.os : undefined,
  };
}

/** The platform an image config names, if it names one; never throws. */
export function configPlatform(config: Buffer): Platform | undefined {
  try {
    const parsed = JSON.parse(config.toString('utf8')) as { architecture?: unknown; os?: unknown; variant?: unknown };
    if (typeof parsed.architecture !== 'string' || typeof parsed.os !== 'string') return undefined;
    return { architecture: parsed.architecture, os: parsed.os, ...(typeof parsed.variant === 'string' ? { variant: parsed.variant } : {}) };
  } catch {
    return undefined;
  }
}
