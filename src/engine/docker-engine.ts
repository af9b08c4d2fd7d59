import {
  EngineLoadError,
  EngineRequestError,
  EngineUnreachableError,
  ImageNotFoundError,
  describeCause,
  isHandoverError,
} from '../errors.ts';
import type { BorrowedChunks } from '../io/borrowed-chunks.ts';
import type { EngineEndpoint } from './docker-host.ts';
import type { Engine, EngineVersion, ImageInfo } from './engine.ts';
import { JsonMessageParser, messageError, messageText, type EngineMessage } from './json-messages.ts';
import { failedToConnect, request, type PooledResponse } from './http-client.ts';

const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'ENOTSOCK']);

async function readBody(response: PooledResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function engineMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the raw text says more than nothing
  }
  return body.trim();
}

/** The answer of `ask`, asked at the first call and shared by later ones; asked again after a failure. */
function askedOnce<T>(ask: () => Promise<T>): () => Promise<T> {
  let asked: Promise<T> | undefined;
  return () =>
    (asked ??= ask().catch((error: unknown) => {
      asked = undefined;
      throw error;
    }));
}

/** The Docker Engine API over its socket. */
export class DockerEngine implements Engine {
  readonly endpoint: string;
  private readonly target: EngineEndpoint;

  constructor(target: EngineEndpoint) {
    this.target = target;
    this.endpoint = target.url;
  }

  private unreachable(error: unknown): EngineUnreachableError {
    return new EngineUnreachableError(`Could not reach the Docker Engine at ${this.endpoint}: ${describeCause(error)}.`, {
      hint: 'Start the Docker Engine (for Podman: podman system service --time=0 unix://…), or set DOCKER_HOST to the socket of the engine to use.',
      cause: error,
      details: { endpoint: this.endpoint },
    });
  }

  private isConnectError(error: unknown): boolean {
    return CONNECT_ERRORS.has((error as NodeJS.ErrnoException).code ?? '');
  }

  /** Sends a request; a body is sent chunk by chunk with back-pressure. */
  private async send(method: string, path: string, options: { body?: AsyncIterable<Uint8Array>; headers?: Record<string, string>; signal?: AbortSignal | undefined } = {}): Promise<PooledResponse> {
    try {
      return await request(this.target, { method, path, ...options });
    } catch (error) {
      // A connection that breaks after it was made is an engine that stopped, not one that is unreachable.
      if (failedToConnect(error) && this.isConnectError(error)) throw this.unreachable(error);
      throw error;
    }
  }

  private async json<T>(method: string, path: string): Promise<{ status: number; body: T | string }> {
    let response: PooledResponse;
    let text: string;
    try {
      response = await this.send(method, path);
      text = await readBody(response);
    } catch (error) {
      if (isHandoverError(error)) throw error;
      throw new EngineRequestError(`The engine at ${this.endpoint} stopped answering ${method} ${path.replace(/\?.*$/, '')}: ${describeCause(error)}.`, {
        hint: 'The engine may have stopped or restarted; check that it runs, then try again.',
        cause: error,
      });
    }
    const status = response.status;
    // Podman answers a tag with a body of one newline: a body of blanks carries nothing.
    if (status >= 200 && status < 300) return { status, body: text.trim() === '' ? '' : parseJson<T>(text, `${method} ${path.replace(/\?.*$/, '')}`, this.endpoint) };
    return { status, body: engineMessage(text) };
  }

  /**
   * Asked once per engine object: a command's answer does not change while
   * it runs, and Podman takes over a second to answer /version and half a
   * second for /info. A failed answer is not kept.
   */
  readonly version: () => Promise<EngineVersion> = askedOnce(() => this.askVersion());
  readonly usesContainerdStore: () => Promise<boolean> = askedOnce(() => this.askStore());

  private async askVersion(): Promise<EngineVersion> {
    const { status, body } = await this.json<RawVersion>('GET', '/version');
    if (typeof body === 'string') throw new EngineRequestError(`The engine at ${this.endpoint} answered ${status} to GET /version: ${body}.`);
    const podman = (body.Components ?? []).some((component) => component.Name === 'Podman Engine');
    return {
      product: podman ? 'podman' : 'docker',
      version: body.Version ?? '',
      apiVersion: body.ApiVersion ?? '',
      minApiVersion: body.MinAPIVersion ?? '',
      os: body.Os ?? '',
      arch: body.Arch ?? '',
    };
  }

  async inspectImage(reference: string): Promise<ImageInfo | undefined> {
    const { status, body } = await this.json<RawImageInspect>('GET', `/images/${encodeURIComponent(reference)}/json`);
    if (status === 404) return undefined;
    if (typeof body === 'string') {
      throw new EngineRequestError(`The engine at ${this.endpoint} answered ${status} when asked for image '${reference}': ${body}.`);
    }
    return {
      // Podman's own API names images by bare hex; its Docker API, like Docker, by sha256:hex.
      id: /^[0-9a-f]{64}$/.test(body.Id) ? `sha256:${body.Id}` : body.Id,
      repoTags: body.RepoTags ?? [],
      diffIds: body.RootFS?.Layers ?? [],
      architecture: body.Architecture ?? '',
      os: body.Os ?? '',
      variant: body.Variant === '' ? undefined : body.Variant,
      size: body.Size ?? 0,
    };
  }

  async historySizes(reference: string): Promise<number[]> {
    const { status, body } = await this.json<Array<{ Size?: number }>>('GET', `/images/${encodeURIComponent(reference)}/history`);
    if (typeof body === 'string' || !Array.isArray(body)) {
      throw new EngineRequestError(`The engine at ${this.endpoint} answered ${status} when asked for the history of '${reference}': ${String(body)}.`);
    }
    return body.map((step) => step.Size ?? 0).reverse();
  }

  async listImageIds(): Promise<string[]> {
    const { status, body } = await this.json<Array<{ Id: string }>>('GET', '/images/json?all=1');
    if (typeof body === 'string') throw new EngineRequestError(`The engine at ${this.endpoint} answered ${status} when asked for its images: ${body}.`);
    return body.map((image) => image.Id);
  }

  private async askStore(): Promise<boolean> {
    const { body } = await this.json<{ DriverStatus?: Array<[string, string]> | null }>('GET', '/info');
    if (typeof body === 'string') return false;
    return (body.DriverStatus ?? []).some(([key, value]) => key === 'driver-type' && value.includes('containerd.snapshotter'));
  }

  /** The save archive, read through a few reused buffers (see the request of http-client.ts). */
  async saveImages(references: readonly string[], signal?: AbortSignal): Promise<BorrowedChunks> {
    const query = references.map((r) => `names=${encodeURIComponent(r)}`).join('&');
    const response = await this.send('GET', `/images/get?${query}`, { signal });
    if (response.status === 200) return response.body;
    const message = engineMessage(await readBody(response));
    if (response.status === 404) {
      throw new ImageNotFoundError(`The engine at ${this.endpoint} has no image ${references.join(', ')}: ${message}.`, {
        hint: 'Build or pull the image on this engine first, or check DOCKER_HOST.',
      });
    }
    throw new EngineRequestError(`The engine at ${this.endpoint} could not export ${references.join(', ')} (${response.status}): ${message}.`);
  }

  async loadImages(archive: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<string[]> {
    let response: PooledResponse;
    try {
      response = await this.send('POST', '/images/load?quiet=1', { body: archive, headers: { 'Content-Type': 'application/x-tar' }, signal });
    } catch (error) {
      if (error instanceof EngineUnreachableError) throw error;
      // An error of the archive stream (a blob failing verification) is the real cause.
      if (isHandoverError(error)) throw error;
      throw new EngineLoadError(`The engine at ${this.endpoint} stopped while loading: ${describeCause(error)}.`, {
        hint: 'Check that the engine is running and has space (docker system df); then load again.',
        cause: error,
      });
    }
    const status = response.status;
    if (status !== 200) {
      const message = engineMessage(await readBody(response));
      throw new EngineLoadError(`The engine at ${this.endpoint} refused the load (${status}): ${message}.`, {
        hint: 'The archive handover built was not accepted; check the engine log and report it if the bundle is intact.',
      });
    }
    // The engine answers 200 before it has done the work and reports failures inside the stream.
    const parser = new JsonMessageParser();
    const lines: string[] = [];
    const inspect = (messages: ReturnType<JsonMessageParser['push']>): void => {
      for (const message of messages) {
        const error = messageError(message) ?? unpackError(message);
        if (error !== undefined) {
          throw new EngineLoadError(`The engine at ${this.endpoint} failed to load the image: ${error}.`, {
            hint: 'The engine rejected the archive; nothing was tagged. Check the engine log and its free space.',
            details: { engineError: error },
          });
        }
        const text = messageText(message);
        if (text !== '') lines.push(text);
      }
    };
    // Interrupted while the engine works through the archive: stop reading, so nothing gets tagged.
    const abort = (): void => {
      response.close(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    if (signal?.aborted === true) abort();
    try {
      for await (const chunk of response.body) inspect(parser.push(Buffer.from(chunk)));
    } catch (error) {
      if (error instanceof EngineLoadError) throw error;
      throw new EngineLoadError(`The engine at ${this.endpoint} stopped answering during the load: ${describeCause(error)}.`, {
        hint: 'The engine may have stopped or restarted. Nothing was tagged; load again once it runs.',
        cause: error,
      });
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    signal?.throwIfAborted();
    inspect(parser.end());
    return lines;
  }

  async removeImage(id: string): Promise<boolean> {
    const { status } = await this.json<unknown>('DELETE', `/images/${encodeURIComponent(id)}?noprune=1`);
    return status === 200;
  }

  async tagImage(id: string, repository: string, tag: string): Promise<void> {
    const path = `/images/${encodeURIComponent(id)}/tag?repo=${encodeURIComponent(repository)}&tag=${encodeURIComponent(tag)}`;
    const { status, body } = await this.json<unknown>('POST', path);
    if (status !== 201 && status !== 200) {
      throw new EngineRequestError(`The engine at ${this.endpoint} could not tag ${id} as ${repository}:${tag} (${status}): ${String(body)}.`);
    }
  }
}

interface RawVersion {
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  Os?: string;
  Arch?: string;
  Components?: Array<{ Name?: string }> | null;
}

/**
 * Docker on containerd's store reports a layer it could not unpack as a
 * plain stream line ("Error unpacking image …: apply layer error …"), with
 * no errorDetail, after it has named the image loaded: a failure all the same.
 */
function unpackError(message: EngineMessage): string | undefined {
  const text = messageText(message);
  return /^Error unpacking image\b/.test(text) ? text : undefined;
}

function parseJson<T>(text: string, request: string, endpoint: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new EngineRequestError(`The engine at ${endpoint} answered ${request} with a body that is not JSON: '${text.slice(0, 200)}'.`, {
      hint: 'Check that DOCKER_HOST names a Docker Engine or a Podman service; report the engine and its version if it is one.',
      cause: error,
    });
  }
}

interface RawImageInspect {
  Id: string;
  RepoTags?: string[] | null;
  RootFS?: { Layers?: string[] };
  Architecture?: string;
  Os?: string;
  Variant?: string;
  Size?: number;
}
