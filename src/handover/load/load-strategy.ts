import { apiAtLeast } from '../../engine/api-version.ts';
import type { EngineVersion } from '../../engine/engine.ts';

/**
 * How a bundle goes into an engine:
 * - 'steps': docker save's layout in several loads, overlapped (the engine
 *   applies one while the next streams in), layers the engine holds not
 *   sent, each partial load a labelled partial image — for Docker on its own
 *   layer store, which unpacks a whole archive before it registers a layer.
 * - 'oci-layout': one OCI image layout with the layers as stored — for
 *   containerd's image store, which keeps the producer's manifests and
 *   indexes (and so its image id), and for Podman, with Docker's
 *   manifest.json beside it.
 */
export type LoadStrategy =
  | { kind: 'steps'; engineReadsZstd: boolean }
  | { kind: 'oci-layout'; dockerManifest: boolean };

/** The first Docker Engine API (Docker 25) that loads OCI layouts and zstd layers. */
const OCI_LOAD_API = [1, 44] as const;

/**
 * What a Docker Engine on its own layer store gets: 'steps' (the default)
 * or one OCI 'layout' with the layers as stored, which Docker 25 and later
 * read (and decompress) themselves.
 */
export type ClassicLoad = 'steps' | 'layout';

export function chooseLoadStrategy(version: EngineVersion, containerdStore: boolean, classic: ClassicLoad = 'steps'): LoadStrategy {
  if (containerdStore) return { kind: 'oci-layout', dockerManifest: false };
  if (version.product === 'podman') return { kind: 'oci-layout', dockerManifest: true };
  const readsZstd = apiAtLeast(version.apiVersion, OCI_LOAD_API);
  if (classic === 'layout' && readsZstd) return { kind: 'oci-layout', dockerManifest: true };
  return { kind: 'steps', engineReadsZstd: readsZstd };
}
