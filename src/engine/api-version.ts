import { EngineTooOldError } from '../errors.ts';
import type { EngineVersion } from './engine.ts';

/** The oldest Engine API handover speaks: Docker 1.13's (2017), whose save, load, tag and history it uses. */
export const MIN_API_VERSION = [1, 25] as const;

/** Whether an API version ("1.51") is at least `wanted`. */
export function apiAtLeast(version: string, wanted: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > wanted[0] || (major === wanted[0] && minor >= wanted[1]);
}

/** Refuses an engine whose API is older than handover's calls need, saying which it speaks and what is needed. */
export function requireApi(version: EngineVersion, endpoint: string): void {
  if (apiAtLeast(version.apiVersion, MIN_API_VERSION)) return;
  const needed = MIN_API_VERSION.join('.');
  throw new EngineTooOldError(
    `The engine at ${endpoint} speaks Docker Engine API ${version.apiVersion || '(none given)'} (${version.product} ${version.version || 'of unknown version'}); handover needs API ${needed} or later (Docker 1.13+, any Podman with its Docker-compatible service).`,
    { hint: 'Upgrade the engine, or set DOCKER_HOST to a newer one.', details: { apiVersion: version.apiVersion, needed } },
  );
}
