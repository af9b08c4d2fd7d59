import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIndex, parseManifest } from '../../../src/bundle/parse.ts';
import { isDigest, sha256Digest } from '../../../src/digest/digest.ts';
import { HandoverError } from '../../../src/errors.ts';
import { byteEdits, mutate, replaceAt, runs, typedOrValue } from './fuzz.ts';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;

/** A valid index and manifest as handover writes them: the seeds that mutations start from. */
const validIndex = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: digest('a'),
      size: 1234,
      annotations: { 'org.opencontainers.image.ref.name': 'charon:local', 'io.github.image-handover.image.id': digest('b') },
    },
  ],
  annotations: { 'io.github.image-handover.format': '1', 'org.opencontainers.image.created': '2026-11-24T00:00:00Z' },
};
const validManifest = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest('b'), size: 900 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: digest('c'), size: 10, annotations: { 'io.github.image-handover.uncompressed.size': '20' } },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest('d'), size: 30 },
  ],
};


const edits = byteEdits(6);
const path = fc.array(fc.nat({ max: 8 }), { minLength: 0, maxLength: 5 });
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom('sha256:../../etc/passwd', '/etc/passwd', 'sha256:', -1, 1e300, Number.MAX_SAFE_INTEGER + 2, '99', 'application/vnd.oci.image.index.v1+json'),
);

function checkIndex(bytes: Uint8Array): void {
  const result = typedOrValue(() => parseIndex(bytes));
  if (result instanceof HandoverError) return;
  // What it accepts is whole: its digest is that of the bytes, and it names blobs by digest only.
  expect(result.digest).toBe(sha256Digest(bytes));
  expect(result.images.length).toBeGreaterThan(0);
  for (const image of result.images) expect(isDigest(image.manifest.digest)).toBe(true);
}

function checkManifest(bytes: Uint8Array): void {
  const result = typedOrValue(() => parseManifest(bytes));
  if (result instanceof HandoverError) return;
  for (const d of [result.config, ...result.layers]) {
    expect(isDigest(d.digest)).toBe(true);
    expect(Number.isSafeInteger(d.size) && d.size >= 0).toBe(true);
  }
}

describe('the bundle index and manifest parsers under fuzzing', () => {
  it('accept the seeds', () => {
    expect(parseIndex(Buffer.from(JSON.stringify(validIndex))).images).toHaveLength(1);
    expect(parseManifest(Buffer.from(JSON.stringify(validManifest))).layers).toHaveLength(2);
  });

  it('arbitrary bytes and arbitrary JSON: a parsed document or a typed error', () => {
    const input = fc.oneof(fc.uint8Array({ maxLength: 2048 }), fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')));
    fc.assert(
      fc.property(input, (bytes) => {
        checkIndex(bytes);
        checkManifest(bytes);
      }),
      runs(2000),
    );
  });

  it('a valid document with one value replaced by a hostile one: a parsed document or a typed error', () => {
    fc.assert(
      fc.property(path, hostileValue, (at, value) => {
        checkIndex(Buffer.from(JSON.stringify(replaceAt(validIndex, at, value))));
        checkManifest(Buffer.from(JSON.stringify(replaceAt(validManifest, at, value))));
      }),
      runs(3000),
    );
  });

  it('a valid document with bytes flipped, deleted, inserted or cut: a parsed document or a typed error', () => {
    fc.assert(
      fc.property(edits, (e) => {
        checkIndex(mutate(Buffer.from(JSON.stringify(validIndex)), e));
        checkManifest(mutate(Buffer.from(JSON.stringify(validManifest)), e));
      }),
      runs(2000),
    );
  });

  it('deeply nested values (up to 200 000 levels) are refused with a typed error, not a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 200_000 }), fc.constantFrom('manifests', 'annotations', 'layers', 'config'), (depth, key) => {
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const bytes = Buffer.from(`{"schemaVersion":2,"${key}":${nested}}`);
        expect(typedOrValue(() => parseIndex(bytes))).toBeInstanceOf(HandoverError);
        expect(typedOrValue(() => parseManifest(bytes))).toBeInstanceOf(HandoverError);
      }),
      runs(20),
    );
  });
});
