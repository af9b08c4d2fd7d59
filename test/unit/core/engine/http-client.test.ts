import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDockerHost } from '../../../../src/engine/docker-host.ts';
import { failedToConnect, request } from '../../../../src/engine/http-client.ts';
import { collect, pattern, tempDirs } from '../support.ts';

const temp = tempDirs('http-client');
const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  await temp.cleanup();
});

/** A raw server: `respond` writes whatever bytes it likes, in whatever pieces. */
async function rawServer(respond: (socket: Socket, request: string) => Promise<void> | void): Promise<string> {
  const path = join(await temp.make(), 'd.sock');
  const server = createServer((socket) => {
    let request = '';
    socket.on('data', (chunk: Buffer) => {
      request += chunk.toString('latin1');
      if (request.includes('\r\n\r\n')) void respond(socket, request);
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return `unix://${path}`;
}

async function writePieces(socket: Socket, bytes: Buffer, sizes: readonly number[]): Promise<void> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    socket.write(bytes.subarray(offset, offset + size));
    offset += size;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function chunkedBody(body: Buffer, chunkSize: number): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += chunkSize) {
    const piece = body.subarray(offset, offset + chunkSize);
    parts.push(Buffer.from(`${piece.length.toString(16)};ext=1\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\nX-Trailer: yes\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('request: GET', () => {
  it('decodes a chunked body whose framing is split at every kind of boundary', async () => {
    const body = pattern(3 * 1024 * 1024 + 17);
    const host = await rawServer(async (socket, request) => {
      expect(request).toMatch(/^GET \/images\/get\?names=a HTTP\/1\.1\r\n/);
      const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n');
      await writePieces(socket, Buffer.concat([head, chunkedBody(body, 100_003)]), [1, 3, 70_001, 2, 5, 300_000]);
      socket.end();
    });
    const response = await request(parseDockerHost(host), { method: 'GET', path: '/images/get?names=a' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-tar');
    expect((await collect(response.body)).equals(body)).toBe(true);
  });

  it('reads a body framed by Content-Length, and one that runs until the connection closes', async () => {
    const body = pattern(700_000, 2);
    const framed = await rawServer((socket) => {
      socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 404 Not Found\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    });
    const response = await request(parseDockerHost(framed), { method: 'GET', path: '/x' });
    expect(response.status).toBe(404);
    expect((await collect(response.body)).equals(body)).toBe(true);

    const open = await rawServer((socket) => {
      socket.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body]));
    });
    expect((await collect((await request(parseDockerHost(open), { method: 'GET', path: '/x' })).body)).equals(body)).toBe(true);
  });

  it('keeps every byte when the consumer is far slower than the socket (the reader pauses, nothing is overwritten)', async () => {
    const body = pattern(4 * 1024 * 1024, 3);
    const host = await rawServer((socket) => {
      socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), chunkedBody(body, 1_000_000)]));
    });
    const response = await request(parseDockerHost(host), { method: 'GET', path: '/x' });
    expect((await collect(response.body, 1)).equals(body)).toBe(true);
  });

  it('fails when the connection closes before the body is whole', async () => {
    const host = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly-part');
    });
    const response = await request(parseDockerHost(host), { method: 'GET', path: '/x' });
    await expect(collect(response.body)).rejects.toThrow(/closed the connection before the response was complete/);
  });

  it('refuses a response that is not HTTP, and bad chunk framing', async () => {
    const notHttp = await rawServer((socket) => void socket.end('SSH-2.0-OpenSSH\r\n\r\n'));
    await expect(request(parseDockerHost(notHttp), { method: 'GET', path: '/x' })).rejects.toThrow(/not an HTTP status line/);
    const badSize = await rawServer((socket) => void socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'));
    const response = await request(parseDockerHost(badSize), { method: 'GET', path: '/x' });
    await expect(collect(response.body)).rejects.toThrow(/not hexadecimal/);
  });

  it('rejects with the socket error when nothing listens, and stops on abort', async () => {
    const missing = join(await temp.make(), 'none.sock');
    await expect(request(parseDockerHost(`unix://${missing}`), { method: 'GET', path: '/x' })).rejects.toMatchObject({ code: 'ENOENT' });

    const host = await rawServer((socket) => void socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n'));
    const controller = new AbortController();
    const response = await request(parseDockerHost(host), { method: 'GET', path: '/x', signal: controller.signal });
    const iterator = response.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done === true ? '' : first.value.toString()).toBe('abcd');
    const pending = iterator.next();
    controller.abort(new Error('stopped by the user'));
    await expect(pending).rejects.toThrow('stopped by the user');
  });
});

describe('request', () => {
  it('sends a body chunk by chunk with chunked encoding, each chunk written before the next is pulled', async () => {
    const parts = [pattern(300_000, 4), pattern(1, 5), pattern(70_000, 6)];
    let received = Buffer.alloc(0);
    const host = await rawServer((socket, request) => {
      received = Buffer.from(request, 'latin1');
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.subarray(-5).toString('latin1') === '0\r\n\r\n') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    const reused = Buffer.alloc(300_000);
    async function* body(): AsyncGenerator<Uint8Array> {
      for (const part of parts) {
        await Promise.resolve();
        // One buffer for every chunk: only safe if each is on the wire before the next is made.
        part.copy(reused);
        yield reused.subarray(0, part.length);
      }
    }
    const response = await request(parseDockerHost(host), { method: 'POST', path: '/images/load?quiet=1', headers: { 'Content-Type': 'application/x-tar' }, body: body() });
    expect(response.status).toBe(200);
    expect((await collect(response.body)).toString()).toBe('ok');
    const text = received.toString('latin1');
    const headEnd = text.indexOf('\r\n\r\n');
    expect(text.slice(0, headEnd)).toMatch(/^POST \/images\/load\?quiet=1 HTTP\/1\.1\r\n[\s\S]*Content-Type: application\/x-tar\r\n[\s\S]*Transfer-Encoding: chunked$/);
    let at = headEnd + 4;
    const decoded: Buffer[] = [];
    for (;;) {
      const lineEnd = received.indexOf('\r\n', at);
      const size = Number.parseInt(received.subarray(at, lineEnd).toString('latin1'), 16);
      at = lineEnd + 2;
      if (size === 0) break;
      decoded.push(received.subarray(at, at + size));
      at += size + 2;
    }
    expect(Buffer.concat(decoded).equals(Buffer.concat(parts))).toBe(true);
  });

  it('fails with the body source\'s own error', async () => {
    const quiet = await rawServer(() => undefined);
    const failing = async function* (): AsyncGenerator<Uint8Array> {
      yield Buffer.from('start');
      await Promise.resolve();
      throw new Error('layer 2 failed verification');
    };
    await expect(request(parseDockerHost(quiet), { method: 'POST', path: '/x', body: failing() })).rejects.toThrow('layer 2 failed verification');
  });

  it('marks a failure to connect as one, and a connection broken later as not', async () => {
    const missing = join(await temp.make(), 'none.sock');
    const refused = await request(parseDockerHost(`unix://${missing}`), { method: 'GET', path: '/x' }).catch((error: unknown) => error);
    expect(failedToConnect(refused)).toBe(true);
    const breaking = await rawServer((socket) => void socket.destroy());
    const broken = await request(parseDockerHost(breaking), { method: 'GET', path: '/x' }).catch((error: unknown) => error);
    expect(broken).toBeInstanceOf(Error);
    expect(failedToConnect(broken)).toBe(false);
  });
});
