import { connect, type Socket } from 'node:net';
import type { BorrowedChunk } from '../io/borrowed-chunks.ts';
import { PooledChunks, pooledOnRead } from '../io/pooled-chunks.ts';
import type { EngineEndpoint } from './docker-host.ts';

/** A response whose body arrives in a few reused buffers. */
export interface PooledResponse {
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  body: AsyncIterableIterator<BorrowedChunk>;
  /** Ends the exchange early, failing a body still being read with `error`. */
  close(error?: Error): void;
}

const MAX_HEAD_BYTES = 64 * 1024;

class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'until-close' };

/**
 * An incremental HTTP/1.1 response reader: the head is copied out, body
 * bytes are handed on as views of the buffer they arrived in.
 */
class ResponseParser {
  private head: Buffer = Buffer.alloc(0);
  private mode: BodyMode | undefined;
  private state: 'head' | 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'head';
  private line = '';
  private chunkLeft = 0;
  status = 0;
  readonly headers = new Map<string, string>();
  onHead: () => void = () => undefined;
  onBody: (view: Buffer, owner: Buffer) => void = () => undefined;

  /** The body's framing says it is whole. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** The body has no framing: it ends when the connection does. */
  get untilClose(): boolean {
    return this.mode?.kind === 'until-close';
  }

  feed(bytes: Buffer, owner: Buffer): void {
    let at = 0;
    while (at < bytes.length && this.state !== 'done') {
      if (this.state === 'head') at = this.readHead(bytes, at);
      else if (this.mode?.kind === 'length') at = this.readLength(this.mode, bytes, at, owner);
      else if (this.mode?.kind === 'until-close') {
        this.onBody(bytes.subarray(at), owner);
        at = bytes.length;
      } else at = this.readChunked(bytes, at, owner);
    }
  }

  private readHead(bytes: Buffer, at: number): number {
    const previous = this.head.length;
    this.head = Buffer.concat([this.head, bytes.subarray(at)]);
    const end = this.head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (this.head.length > MAX_HEAD_BYTES) throw new ProtocolError(`the response head is longer than ${MAX_HEAD_BYTES} bytes`);
      return bytes.length;
    }
    const lines = this.head.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (status === null) throw new ProtocolError(`the response starts with '${(lines[0] ?? '').slice(0, 40)}', not an HTTP status line`);
    this.status = Number(status[1]);
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = this.headers.get('content-length');
    if (/chunked/i.test(this.headers.get('transfer-encoding') ?? '')) {
      this.mode = { kind: 'chunked' };
      this.state = 'size';
    } else if (length !== undefined && /^\d+$/.test(length)) {
      this.mode = { kind: 'length', left: Number(length) };
      this.state = this.mode.left === 0 ? 'done' : 'data';
    } else {
      this.mode = { kind: 'until-close' };
      this.state = 'data';
    }
    this.head = Buffer.alloc(0);
    this.onHead();
    return at + (end + 4 - previous);
  }

  private readLength(mode: { left: number }, bytes: Buffer, at: number, owner: Buffer): number {
    const take = Math.min(mode.left, bytes.length - at);
    this.onBody(bytes.subarray(at, at + take), owner);
    mode.left -= take;
    if (mode.left === 0) this.state = 'done';
    return at + take;
  }

  private readChunked(bytes: Buffer, at: number, owner: Buffer): number {
    if (this.state === 'data') {
      const take = Math.min(this.chunkLeft, bytes.length - at);
      this.onBody(bytes.subarray(at, at + take), owner);
      this.chunkLeft -= take;
      if (this.chunkLeft === 0) this.state = 'data-end';
      return at + take;
    }
    const newline = bytes.indexOf(0x0a, at);
    const end = newline === -1 ? bytes.length : newline + 1;
    this.line += bytes.subarray(at, end).toString('latin1');
    if (this.line.length > 4096) throw new ProtocolError('a chunk header line is longer than 4096 bytes');
    if (newline === -1) return end;
    const line = this.line.trim();
    this.line = '';
    if (this.state === 'data-end') {
      if (line !== '') throw new ProtocolError('a chunk does not end where its size says');
      this.state = 'size';
    } else if (this.state === 'size') {
      const size = /^[0-9a-fA-F]+/.exec(line);
      if (size === null) throw new ProtocolError(`the chunk size '${line.slice(0, 20)}' is not hexadecimal`);
      this.chunkLeft = Number.parseInt(size[0], 16);
      this.state = this.chunkLeft === 0 ? 'trailer' : 'data';
    } else if (line === '') {
      this.state = 'done';
    }
    return end;
  }
}

export interface RequestOptions {
  method: string;
  /** The path and query, e.g. /images/get?names=charon%3Alocal. */
  path: string;
  headers?: Record<string, string>;
  /**
   * Sent with chunked transfer encoding, each chunk written before the next
   * is pulled (so it may reuse its buffers). An error it throws fails the
   * request with that error.
   */
  body?: AsyncIterable<Uint8Array>;
  signal?: AbortSignal | undefined;
}

/** Errors raised before a connection existed: the engine is unreachable, not failing. */
const beforeConnect = new WeakSet<object>();

/** Whether an error came before a connection was made (nothing listens, no permission). */
export function failedToConnect(error: unknown): boolean {
  return typeof error === 'object' && error !== null && beforeConnect.has(error);
}

function written(socket: Socket, parts: Array<string | Uint8Array>): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.cork();
    for (const part of parts.slice(0, -1)) socket.write(part);
    socket.write(parts.at(-1)!, (error) => (error === null || error === undefined ? resolve() : reject(error)));
    socket.uncork();
  });
}

/**
 * One HTTP/1.1 request over a fresh connection (unix socket or TCP), the
 * response read into pooled buffers (net's `onread`): an image streams
 * through the same 2 MiB whatever its size, and spent buffers leave the
 * garbage collector nothing to chase. Resolves once the response head has
 * arrived and the body, if any, is sent; the engine may answer before it has
 * read the whole body, and then the rest is not sent.
 */
export async function request(target: EngineEndpoint, options: RequestOptions): Promise<PooledResponse> {
  const { signal } = options;
  signal?.throwIfAborted();
  const parser = new ResponseParser();
  const body = new PooledChunks();
  let connected = false;
  let headSettled = false;
  let settleHead: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const headArrived = new Promise<void>((resolve, reject) => (settleHead = { resolve, reject }));
  headArrived.catch(() => undefined);

  const fail = (error: Error): void => {
    if (!connected) beforeConnect.add(error);
    if (!headSettled) {
      headSettled = true;
      settleHead?.reject(error);
    }
    body.fail(error);
  };
  parser.onHead = () => {
    headSettled = true;
    settleHead?.resolve();
  };
  parser.onBody = (view, owner) => body.push(view, owner);
  // A whole response wins over a broken pipe: the engine answered before reading all it was sent.
  body.complete = () => parser.done || (parser.untilClose && body.ended && body.failure === undefined);

  const where = target.kind === 'unix' ? { path: target.socketPath } : { host: target.host, port: target.port };
  const { onread, attach } = pooledOnRead(body, (bytes, owner) => parser.feed(bytes, owner));
  const socket: Socket = connect({ ...where, onread });
  attach(socket);
  socket.once('connect', () => (connected = true));
  socket.on('error', fail);
  const closed = (): void => {
    if (!parser.done && !parser.untilClose) fail(new ProtocolError('the engine closed the connection before the response was complete'));
    body.end();
  };
  socket.on('end', closed);
  socket.on('close', closed);
  const sending = { active: false, stop: false };
  const abort = (): void => {
    const reason = signal?.reason instanceof Error ? signal.reason : new Error('aborted');
    // A body being sent ends cleanly first (see sendBody), so the engine drops what it took in.
    if (sending.active) {
      sending.stop = true;
      setTimeout(() => socket.destroy(reason), GRACEFUL_END_MS).unref();
      return;
    }
    socket.destroy(reason);
  };
  signal?.addEventListener('abort', abort, { once: true });
  body.onFinish = () => {
    signal?.removeEventListener('abort', abort);
    socket.destroy();
  };

  const headers = Object.entries({ Host: 'docker', 'User-Agent': 'image-handover', Connection: 'close', ...options.headers });
  if (options.body !== undefined) headers.push(['Transfer-Encoding', 'chunked']);
  else if (options.method !== 'GET' && options.method !== 'HEAD') headers.push(['Content-Length', '0']);
  const head = `${options.method} ${options.path} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;

  const response: PooledResponse = { status: 0, headers: parser.headers, body, close: (error) => socket.destroy(error) };
  try {
    await written(socket, [head]);
    if (options.body !== undefined) {
      sending.active = true;
      try {
        await sendBody(socket, options.body, { answered: () => parser.status !== 0, finished: () => parser.done }, sending);
      } finally {
        sending.active = false;
      }
    }
    await headArrived;
  } catch (error) {
    // A failure of the body's own source (a blob failing verification) is the cause to report.
    if (!bodyFailures.has(error as object) && parser.status !== 0) return { ...response, status: parser.status };
    void body.return();
    throw bodyFailures.has(error as object) ? error : (body.failure ?? error);
  }
  return { ...response, status: parser.status };
}

/** Errors thrown by a request body's source, as opposed to the connection. */
const bodyFailures = new WeakSet<object>();

/** How long an engine gets to answer a body that ended early before the connection is dropped. */
const GRACEFUL_END_MS = 3000;

/**
 * Ends a chunked body early, cleanly: the engine sees its upload end short
 * and drops what it took in. A dropped connection is not the same to every
 * engine — containerd's store keeps the aborted load's ingest and lease for
 * a day when its request is cancelled, and resumes that ingest on the next
 * load of an entry of the same name.
 */
async function endEarly(socket: Socket, finished: () => boolean): Promise<void> {
  if (socket.destroyed || !socket.writable) return;
  await written(socket, ['0\r\n\r\n']).catch(() => undefined);
  // The engine cleans up before it ends its answer: waiting for the end lets it finish.
  const deadline = Date.now() + GRACEFUL_END_MS;
  while (!finished() && !socket.destroyed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

interface ResponseState {
  /** The response head has arrived. */
  answered: () => boolean;
  /** The whole response has arrived. */
  finished: () => boolean;
}

async function sendBody(socket: Socket, body: AsyncIterable<Uint8Array>, response: ResponseState, sending: { stop: boolean }): Promise<void> {
  const answered = response.answered;
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await iterator.next();
    } catch (error) {
      if (typeof error === 'object' && error !== null) bodyFailures.add(error);
      await endEarly(socket, response.finished);
      throw error;
    }
    if (sending.stop) {
      await iterator.return?.().catch(() => undefined);
      await endEarly(socket, response.finished);
      throw new Error('aborted while sending');
    }
    if (next.done === true) break;
    // The engine answered early (an error): it will not read the rest.
    if (answered()) {
      await iterator.return?.();
      return;
    }
    if (next.value.length === 0) continue;
    try {
      await written(socket, [`${next.value.length.toString(16)}\r\n`, next.value, '\r\n']);
    } catch (error) {
      // Lets the source stop its own work (a decompressing child process) before the error goes up.
      await iterator.return?.().catch(() => undefined);
      throw error;
    }
  }
  await written(socket, ['0\r\n\r\n']);
}
