import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { TransientFailure, isConnectionError } from './retry.ts';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** The whole body; sent with its Content-Length. */
  body?: Buffer;
  /** Fails the exchange when the connection carries no byte for this long (default 120 s). */
  idleTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as it arrives; a connection dropped mid-body fails it. */
  body: IncomingMessage;
}

const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

let agents: { http: HttpAgent; https: HttpsAgent } | undefined;

/** Connections are kept and reused: the protocol makes many small requests to the same hosts. */
function agentFor(url: URL): HttpAgent | HttpsAgent {
  agents ??= { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  return url.protocol === 'https:' ? agents.https : agents.http;
}

/** Where a request went, without the query (signed URLs carry their signature there). */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * Sends one request and resolves with the response head. A connection that
 * fails before the response head (refused, reset, timed out) rejects with a
 * TransientFailure; statuses are the caller's to judge.
 */
export function sendRequest(request: HttpRequest): Promise<HttpResponse> {
  const { url } = request;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return Promise.reject(new Error(`unsupported URL scheme ${url.protocol}`));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = String(request.body.length);
  return new Promise((resolve, reject) => {
    const req = send(url, { method: request.method, headers, agent: agentFor(url) });
    const timeout = request.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    req.setTimeout(timeout, () => {
      req.destroy(Object.assign(new Error(`no data for ${timeout} ms`), { code: 'ETIMEDOUT' }));
    });
    req.once('response', (response) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response });
    });
    req.once('error', (error) => {
      const what = `${request.method} ${describeUrl(url)}`;
      reject(isConnectionError(error) ? new TransientFailure(`${what}: ${error.message}`, { cause: error }) : error);
    });
    req.end(request.body);
  });
}

/** Reads a whole (small) body, refusing one longer than `limit` bytes. */
export async function readBody(response: HttpResponse, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      response.body.destroy();
      throw new Error(`response body longer than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads a small body as text for an error message; never fails. */
export async function bodyText(response: HttpResponse, limit = 4096): Promise<string> {
  try {
    return (await readBody(response, 64 * 1024)).toString('utf8').slice(0, limit);
  } catch {
    return '';
  }
}

export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
