import { UsageError } from '../errors.ts';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** Where the engine listens: a unix socket or a TCP address. */
export type EngineEndpoint =
  | { kind: 'unix'; socketPath: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

/** Reads DOCKER_HOST (unix:// or tcp://), defaulting to the standard socket. */
export function parseDockerHost(value: string | undefined): EngineEndpoint {
  const url = value === undefined || value.trim() === '' ? DEFAULT_DOCKER_HOST : value.trim();
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
    return { kind: 'tcp', host: parsed.hostname, port: parsed.port === '' ? 2375 : Number(parsed.port), url };
  }
  if (url.startsWith('/')) return { kind: 'unix', socketPath: url, url: `unix://${url}` };
  throw invalid(url);
}

function invalid(url: string): UsageError {
  return new UsageError(`Expected DOCKER_HOST as unix:///path/to/docker.sock or tcp://host:port, found '${url}'.`, {
    hint: 'Unset DOCKER_HOST to use /var/run/docker.sock, or set it to the engine\'s socket.',
  });
}
