import { Defaults } from '../defaults.ts';
import { UsageError } from '../errors.ts';

/** The port of a tcp:// DOCKER_HOST that names none: the engine's plain-HTTP port. */
const DOCKER_TCP_PORT = 2375;

/** Where the engine listens: a unix socket or a TCP address. */
export type EngineEndpoint =
  | { kind: 'unix'; socketPath: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

/** Reads DOCKER_HOST (unix:// or tcp://), defaulting to the standard socket. */
export function parseDockerHost(value: string | undefined): EngineEndpoint {
  const url = value === undefined || value.trim() === '' ? Defaults.dockerHost : value.trim();
  if (url.startsWith('unix://')) {
    const socketPath = url.slice('unix://'.length);
    if (socketPath === '') throw invalid(url);
    return { kind: 'unix', socketPath, url };
  }
  if (url.startsWith('tcp://') || url.startsWith('http://')) {
    let parsed: URL;
    try {
      parsed = new URL(url.replace(/^tcp:/, 'http:'));
    } catch {
      throw invalid(url); // "tcp://" or a port that is not a number: a usage error, not a crash
    }
    if (parsed.hostname === '') throw invalid(url);
    return { kind: 'tcp', host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: explicitPort(url) ?? DOCKER_TCP_PORT, url };
  }
  if (url.startsWith('/')) return { kind: 'unix', socketPath: url, url: `unix://${url}` };
  throw invalid(url);
}

/**
 * The port written in the address. URL drops a port that is its scheme's
 * default (http's 80), so it is read from the text itself.
 */
function explicitPort(url: string): number | undefined {
  const authority = url.replace(/^[a-z]+:\/\//, '').split(/[/?#]/, 1)[0] ?? '';
  const match = /:([0-9]+)$/.exec(authority);
  return match === null ? undefined : Number(match[1]);
}

function invalid(url: string): UsageError {
  return new UsageError(`Expected DOCKER_HOST as unix:///path/to/docker.sock or tcp://host:port, found '${url}'.`, {
    hint: 'Unset DOCKER_HOST to use /var/run/docker.sock, or set it to the engine\'s socket.',
  });
}
