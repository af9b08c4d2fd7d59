import { sha256Digest, type Digest } from '../../digest/digest.ts';
import { PARTIAL_IMAGE_LABEL } from '../helper-images.ts';

interface ConfigJson {
  rootfs?: { diff_ids?: unknown[] };
  history?: Array<{ empty_layer?: boolean }>;
  config?: { Labels?: Record<string, string> | null } | null;
}

/**
 * The config of an image made of the first `layers` layers of another: the
 * engine registers one layer per load this way, so a load of layer k+1 can
 * stream in while the engine still applies layer k. It is labelled as ours
 * and removed once the whole image is in.
 */
export function partialConfig(config: Buffer, layers: number, imageId: Digest): { bytes: Buffer; digest: Digest } {
  const parsed = JSON.parse(config.toString('utf8')) as ConfigJson;
  const diffIds = parsed.rootfs?.diff_ids ?? [];
  let kept = 0;
  const history = (parsed.history ?? []).filter((entry) => {
    if (entry.empty_layer === true) return kept <= layers;
    kept++;
    return kept <= layers;
  });
  const partial: ConfigJson = {
    ...parsed,
    rootfs: { ...parsed.rootfs, diff_ids: diffIds.slice(0, layers) },
    history,
    config: { ...parsed.config, Labels: { ...(parsed.config?.Labels ?? {}), [PARTIAL_IMAGE_LABEL]: imageId } },
  };
  const bytes = Buffer.from(JSON.stringify(partial));
  return { bytes, digest: sha256Digest(bytes) };
}
