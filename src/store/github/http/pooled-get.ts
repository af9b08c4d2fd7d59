import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { lend, type BorrowedChunks } from '../../../io/borrowed-chunks.ts';
import { PooledChunks, pooledOnRead } from '../../../io/pooled-chunks.ts';
import { TransientFailure } from './retry.ts';

/** A GET's answer whose body arrives in a few reused buffers (see BorrowedChunk). */
export interface PooledGetResponse {
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  /** Exactly Content-Length bytes; a connection that ends short fails it with a TransientFailure. */
  body: BorrowedChunks;
  /** Ends the exchange early. */
  close(): void;
}

const MAX_HEAD_BYTES = 64 * 1024;

/**
 * One GET over a fresh connection (TCP, or TLS for https), its body read
 * into pooled buffers with the socket's `onread`: a download of any size
 * passes through the same 2 MiB, where node:http's fresh 64 KiB chunks
 * would let RSS grow by some 70 MiB between collections. Blob storage
 * answers ranged reads with Content-Length, which is all this reads.
 */
export async function pooledGet(url: URL, headers: Record<string, string>, idleTimeoutMs = 120_000): Promise<PooledGetResponse> {
  const body = new PooledChunks();
  let head: Buffer = Buffer.alloc(0);
  let status = 0;
  const responseHeaders = new Map<string, string>();
  let left = -1;
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const headArrived = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  headArrived.catch(() => undefined);
  const where = `GET ${url.origin}${url.pathname}`;

  const fail = (error: Error): void => {
    const failure = error instanceof TransientFailure ? error : new TransientFailure(`${where}: ${error.message}`, { cause: error });
    settle?.reject(failure);
    body.fail(failure);
  };
  const feed = (bytes: Buffer, owner: Buffer): void => {
    let at = 0;
    if (status === 0) {
      head = Buffer.concat([head, bytes]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_HEAD_BYTES) throw new Error(`the response head is longer than ${MAX_HEAD_BYTES} bytes`);
        return;
      }
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      if (match === null) throw new Error(`the answer starts with '${(lines[0] ?? '').slice(0, 40)}', not an HTTP status line`);
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) responseHeaders.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      status = Number(match[1]);
      const length = responseHeaders.get('content-length');
      if (length !== undefined && /^\d+$/.test(length)) left = Number(length);
      else if (status >= 200 && status < 300) throw new Error('the answer has no Content-Length');
      // A refusal without a length (chunked): its status and headers say enough; the body is not read.
      else left = 0;
      at = bytes.length - (head.length - (end + 4));
      head = Buffer.alloc(0);
      settle?.resolve();
    }
    const take = Math.min(left, bytes.length - at);
    if (take > 0) body.push(bytes.subarray(at, at + take), owner);
    left -= take;
    if (left === 0) {
      body.end();
      socket.destroy();
    }
  };

  const { onread, attach } = pooledOnRead(body, feed);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // TLS sockets honour `onread` like plain ones (Node's types omit it from tls.ConnectionOptions).
  const tlsOptions = { host, port, servername: /^[\d.]+$|:/.test(host) ? '' : host, onread } as ConnectionOptions;
  const socket: Socket = url.protocol === 'https:' ? tlsConnect(tlsOptions) : netConnect({ host, port, onread });
  attach(socket);
  socket.setTimeout(idleTimeoutMs, () => socket.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
  socket.on('error', fail);
  const closed = (): void => {
    if (left !== 0) fail(new Error(status === 0 ? 'the connection closed before an answer' : `the connection closed with ${left} bytes of the body to come`));
  };
  socket.on('end', closed);
  socket.on('close', closed);
  body.onFinish = () => socket.destroy();

  const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\n${Object.entries({ Host: url.host, Connection: 'close', ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  socket.write(request);
  await headArrived;
  return {
    status,
    headers: responseHeaders,
    body: (async function* (): BorrowedChunks {
      for await (const chunk of body) yield lend(chunk);
    })(),
    close: () => void body.return(),
  };
}
