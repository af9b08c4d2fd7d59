import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { digestHex, isDigest, parseDigest, sha256Digest, shortDigest, type Digest } from '../../../../src/digest/digest.ts';
import { HashingStream, type ExpectedBlob } from '../../../../src/digest/hashing-stream.ts';
import { ExitStatus } from '../../../../src/errors.ts';
import { chunked, pattern, typedFailure, typedThrow } from '../support.ts';

const EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('digest', () => {
  it('hashes known vectors', () => {
    expect(sha256Digest('')).toBe(EMPTY);
    expect(sha256Digest('abc')).toBe(ABC);
    expect(sha256Digest(Buffer.from('abc'))).toBe(ABC);
  });

  it('parses full and bare digests and trims', () => {
    expect(parseDigest(ABC)).toBe(ABC);
    expect(parseDigest(` ${ABC}\n`)).toBe(ABC);
    expect(parseDigest(ABC.slice(7))).toBe(ABC);
  });

  it.each([
    ['', /an empty value/],
    ['sha256:', /'sha256:'/],
    [ABC.toUpperCase(), /sha256:<64 hex digits>/],
    [`sha512:${'a'.repeat(64)}`, /sha512/],
    [ABC.slice(0, -1), /sha256:<64 hex/],
    [`${ABC}0`, /sha256:<64 hex/],
    ['nothing', /'nothing'/],
    [`sha256:${'g'.repeat(64)}`, /sha256:<64 hex/],
  ])('refuses %j as DIGEST_INVALID (exit 2)', (value, message) => {
    const error = typedThrow(() => parseDigest(value, 'bundle digest'), 'DIGEST_INVALID');
    expect(error.exitStatus).toBe(ExitStatus.usage);
    expect(error.message).toMatch(message);
    expect(error.message).toContain('bundle digest');
  });

  it('isDigest, digestHex and shortDigest', () => {
    expect(isDigest(ABC)).toBe(true);
    expect(isDigest(ABC.slice(7))).toBe(false);
    expect(isDigest(42)).toBe(false);
    expect(isDigest(`sha256:../../${'a'.repeat(58)}`)).toBe(false);
    expect(digestHex(ABC)).toBe(ABC.slice(7));
    expect(shortDigest(ABC)).toBe('sha256:ba7816bf8f01');
    expect(shortDigest('0123456789abcdef')).toBe('0123456789ab');
  });
});

async function pass(data: Buffer, expected?: ExpectedBlob, sizes?: number[]): Promise<{ out: Buffer; hashing: HashingStream }> {
  const hashing = new HashingStream(expected);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunked(data, sizes)),
    hashing,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { out: Buffer.concat(out), hashing };
}

describe('HashingStream', () => {
  const data = pattern(100_000);
  const expected: ExpectedBlob = { digest: sha256Digest(data), size: data.length, label: 'layer 2 of charon:local' };

  it('passes bytes through unchanged and reports digest and size', async () => {
    const { out, hashing } = await pass(data);
    expect(out.equals(data)).toBe(true);
    expect(hashing.digest).toBe(expected.digest);
    expect(hashing.bytes).toBe(data.length);
  });

  it('accepts the exact expected blob, however it is chunked', async () => {
    for (const sizes of [[1], [511, 513], [100_000]]) {
      const { hashing } = await pass(data, expected, sizes);
      expect(hashing.digest).toBe(expected.digest);
    }
  });

  it('reads the digest only after the end', () => {
    expect(() => new HashingStream().digest).toThrow(/before the stream ended/);
  });

  it('refuses a truncated blob with BLOB_SIZE_MISMATCH (exit 5)', async () => {
    const error = await typedFailure(pass(data.subarray(0, data.length - 1), expected), 'BLOB_SIZE_MISMATCH');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
    expect(error.message).toContain('layer 2 of charon:local');
    expect(error.message).toContain(`expected ${data.length} bytes, found ${data.length - 1}`);
  });

  it('refuses an empty stream when bytes were expected', async () => {
    await typedFailure(pass(Buffer.alloc(0), expected), 'BLOB_SIZE_MISMATCH');
  });

  it('refuses an extended blob with BLOB_SIZE_MISMATCH', async () => {
    const error = await typedFailure(pass(Buffer.concat([data, Buffer.from('x')]), expected), 'BLOB_SIZE_MISMATCH');
    expect(error.message).toContain(`more than ${data.length}`);
  });

  it('fails an endless stream as soon as it passes the expected size (no hang)', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 1024;
        this.push(Buffer.alloc(1024, 1));
      },
    });
    await typedFailure(pipeline(endless, new HashingStream({ digest: expected.digest, size: 4096 }), new PassThrough().resume()), 'BLOB_SIZE_MISMATCH');
    expect(produced).toBeLessThan(1024 * 1024);
  });

  it('refuses an altered blob of the right size with BLOB_DIGEST_MISMATCH', async () => {
    const altered = Buffer.from(data);
    altered[50_000] = altered[50_000]! ^ 0x01;
    const error = await typedFailure(pass(altered, expected), 'BLOB_DIGEST_MISMATCH');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
    expect(error.details).toEqual({ expected: expected.digest, actual: sha256Digest(altered) });
    expect(error.message).toContain('was altered');
  });

  it('names the blob by digest when no label is given', async () => {
    const digest: Digest = sha256Digest('abc');
    const error = await typedFailure(pass(Buffer.from('abd'), { digest, size: 3 }), 'BLOB_DIGEST_MISMATCH');
    expect(error.message).toContain(`Blob ${digest} was altered`);
    const hashing = new HashingStream({ digest, size: 3 });
    await pipeline(Readable.from([Buffer.from('abc')]), hashing, new PassThrough().resume());
    expect(hashing.digest).toBe(digest);
  });
});
