import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Throttle, TokenBucket } from './token-bucket.ts';

/**
 * The network between runners and blob storage, in front of Azurite: an
 * HTTP proxy that can limit bandwidth (a token bucket per direction, shared
 * by all connections, as a runner's link is) and inject the faults a real
 * network and storage service produce.
 */
export interface LinkRates {
  /** Runner -> storage, bytes per second (undefined: unlimited). */
  upBytesPerSecond?: number | undefined;
  /** Storage -> runner, bytes per second (undefined: unlimited). */
  downBytesPerSecond?: number | undefined;
}

/** The bench's default link: 60 MB/s up, 120 MB/s down. */
export const BENCH_LINK: Required<LinkRates> = { upBytesPerSecond: 60e6, downBytesPerSecond: 120e6 };

/** Which requests a fault applies to. */
export interface RequestMatch {
  method?: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  /** The `comp` query parameter: 'block', 'blocklist'; null for none (plain Get Blob). */
  comp?: string | null;
  /** Let this many matching requests pass first, counted from when the fault is armed (default 0). */
  skip?: number;
}

export type BlobFault =
  /** Cut the runner's connection after forwarding this many bytes of the request body (a dropped upload). */
  | { kind: 'drop-upload'; afterBytes: number }
  /** Cut the runner's connection after this many bytes of the response body (a dropped download). */
  | { kind: 'drop-download'; afterBytes: number }
  /** Answer with this status instead of forwarding (5xx, 429, 503 ServerBusy…). */
  | { kind: 'status'; status: number; code?: string; retryAfterSeconds?: number }
  /** Flip one byte of the response body at this offset (bytes altered on the way). */
  | { kind: 'corrupt-download'; atByte: number };

export interface LinkRequest {
  method: string;
  /** The blob's path, without the signed query. */
  path: string;
  comp: string | null;
  range: string | undefined;
  status: number;
  /** The fault applied, if any. */
  fault: BlobFault['kind'] | undefined;
  /** Request body bytes forwarded to storage so far (a Put Block's block). */
  bytesUp: number;
}

interface ArmedFault {
  match: RequestMatch;
  fault: BlobFault;
  skip: number;
}

function matches(match: RequestMatch, method: string, comp: string | null): boolean {
  return (match.method === undefined || match.method === method) && (match.comp === undefined || match.comp === comp);
}

/** Counts bytes through and acts once `at` bytes have passed. */
class Tripwire extends Transform {
  private seen = 0;
  private readonly at: number;
  private readonly onTrip: (self: Tripwire, before: Buffer) => void;
  private tripped = false;

  constructor(at: number, onTrip: (self: Tripwire, before: Buffer) => void) {
    super();
    this.at = at;
    this.onTrip = onTrip;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.tripped) {
      callback();
      return;
    }
    if (this.seen + chunk.length < this.at) {
      this.seen += chunk.length;
      callback(null, chunk);
      return;
    }
    this.tripped = true;
    const before = chunk.subarray(0, this.at - this.seen);
    this.seen = this.at;
    this.onTrip(this, before);
    callback();
  }
}

/** Flips the byte at `at`. */
class Corrupter extends Transform {
  private seen = 0;
  private readonly at: number;

  constructor(at: number) {
    super();
    this.at = at;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.at >= this.seen && this.at < this.seen + chunk.length) {
      chunk = Buffer.from(chunk);
      const i = this.at - this.seen;
      chunk.writeUInt8(chunk.readUInt8(i) ^ 0xff, i);
    }
    this.seen += chunk.length;
    callback(null, chunk);
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export class BlobLink {
  private readonly target: URL;
  private readonly up: TokenBucket | undefined;
  private readonly down: TokenBucket | undefined;
  private readonly faults: ArmedFault[] = [];
  private readonly log: LinkRequest[] = [];
  private server: Server | undefined;
  /** Body bytes that crossed the link. */
  bytesUp = 0;
  bytesDown = 0;

  constructor(target: string, rates: LinkRates = {}) {
    this.target = new URL(target);
    this.up = rates.upBytesPerSecond === undefined ? undefined : new TokenBucket(rates.upBytesPerSecond);
    this.down = rates.downBytesPerSecond === undefined ? undefined : new TokenBucket(rates.downBytesPerSecond);
  }

  /** Listens on a free loopback port; resolves with the origin runners use in place of storage's. */
  async listen(): Promise<string> {
    const server = createServer((request, response) => this.forward(request, response));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Arms a fault for the next request that matches (after `skip` matching ones pass). */
  inject(match: RequestMatch, fault: BlobFault): void {
    this.faults.push({ match, fault, skip: match.skip ?? 0 });
  }

  /** Faults armed and not yet applied. */
  get pendingFaults(): number {
    return this.faults.length;
  }

  requests(): LinkRequest[] {
    return [...this.log];
  }

  /** The first armed fault due for this request; every other matching one counts it towards its `skip`. */
  private takeFault(method: string, comp: string | null): BlobFault | undefined {
    let due: ArmedFault | undefined;
    for (const armed of this.faults) {
      if (!matches(armed.match, method, comp)) continue;
      if (due === undefined && armed.skip === 0) due = armed;
      else if (armed.skip > 0) armed.skip--;
    }
    if (due !== undefined) this.faults.splice(this.faults.indexOf(due), 1);
    return due?.fault;
  }

  private forward(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.target);
    const method = request.method ?? 'GET';
    const comp = url.searchParams.get('comp');
    const fault = this.takeFault(method, comp);
    const entry: LinkRequest = { method, path: url.pathname, comp, range: request.headers.range, status: 0, fault: fault?.kind, bytesUp: 0 };
    this.log.push(entry);

    if (fault?.kind === 'status') {
      request.resume();
      const code = fault.code ?? (fault.status === 503 ? 'ServerBusy' : fault.status === 500 ? 'InternalError' : 'OperationTimedOut');
      const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>injected by the test link</Message></Error>`;
      entry.status = fault.status;
      response.writeHead(fault.status, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-ms-error-code': code,
        ...(fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) }),
      });
      response.end(body);
      return;
    }

    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    headers['host'] = this.target.host;
    const upstream = httpRequest({ host: this.target.hostname, port: this.target.port, method, path: request.url, headers });
    const cut = (): void => {
      // The socket may already be gone when the tripwire fires after the request ended.
      request.destroy();
      upstream.destroy();
    };

    upstream.once('response', (answer) => {
      entry.status = answer.statusCode ?? 0;
      const out: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
      response.writeHead(answer.statusCode ?? 502, out);
      const stages: Transform[] = [new Throttle(this.down), this.counter('down')];
      if (fault?.kind === 'drop-download') {
        stages.push(
          new Tripwire(fault.afterBytes, (self, before) => {
            self.push(before);
            // Let what came before reach the runner, then cut its connection.
            setImmediate(() => response.socket?.destroy());
          }),
        );
      }
      if (fault?.kind === 'corrupt-download') stages.push(new Corrupter(fault.atByte));
      pipeline([answer, ...stages, response]).catch(() => response.destroy());
    });
    upstream.once('error', () => response.destroy());

    const stages: Transform[] = [new Throttle(this.up), this.counter('up', entry)];
    if (fault?.kind === 'drop-upload') stages.push(new Tripwire(fault.afterBytes, () => setImmediate(cut)));
    pipeline([request, ...stages, upstream]).catch(() => cut());
  }

  private counter(direction: 'up' | 'down', entry?: LinkRequest): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        if (direction === 'up') this.bytesUp += chunk.length;
        else this.bytesDown += chunk.length;
        if (entry !== undefined && direction === 'up') entry.bytesUp += chunk.length;
        callback(null, chunk);
      },
    });
  }
}
