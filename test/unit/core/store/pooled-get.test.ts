import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pooledGet } from '../../../../src/store/github/http/pooled-get.ts';
import { TransientFailure } from '../../../../src/store/github/http/retry.ts';
import { collect, pattern } from '../support.ts';

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A TCP server that answers every connection with `answer` written in pieces, then maybe closes. */
async function answering(pieces: Buffer[], close = true): Promise<URL> {
  server = createServer((socket) => {
    socket.once('data', () => {
      void (async () => {
        for (const piece of pieces) {
          socket.write(piece);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        if (close) socket.end();
      })();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/container/blob?sig=x`);
}

describe('pooledGet: one GET read into reused buffers', () => {
  it('gives the status, headers and exactly Content-Length bytes, however the answer is split', async () => {
    const body = pattern(700_000);
    const head = Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes 10-${10 + body.length - 1}/2000000\r\n\r\n`);
    const whole = Buffer.concat([head, body, Buffer.from('trailing garbage')]);
    const url = await answering([whole.subarray(0, 7), whole.subarray(7, head.length + 3), whole.subarray(head.length + 3, 300_000), whole.subarray(300_000)]);
    const response = await pooledGet(url, { range: 'bytes=10-700009' });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 10-${10 + body.length - 1}/2000000`);
    expect((await collect(response.body)).equals(body)).toBe(true);
  });

  it('fails the body with a TransientFailure when the connection ends short', async () => {
    const url = await answering([Buffer.from('HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\n\r\n'), Buffer.alloc(400, 1)]);
    const response = await pooledGet(url, {});
    const failure = await collect(response.body).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientFailure);
    expect((failure as Error).message).toMatch(/600 bytes of the body to come/);
  });

  it('reads a refusal\'s status and headers even without a length, and a refused connection is transient', async () => {
    const url = await answering([Buffer.from('HTTP/1.1 412 Condition Not Met\r\nx-ms-error-code: ConditionNotMet\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')], false);
    const response = await pooledGet(url, {});
    expect(response.status).toBe(412);
    expect(response.headers.get('x-ms-error-code')).toBe('ConditionNotMet');
    server?.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(pooledGet(url, {})).rejects.toBeInstanceOf(TransientFailure);
  });
});
