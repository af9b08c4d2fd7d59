import { describe, expect, it } from 'vitest';
import { Annotation, FORMAT_VERSION } from '../../../../src/bundle/annotations.ts';
import { buildIndex, buildManifest, OCI_LAYOUT_CONTENT, type IndexEntry } from '../../../../src/bundle/build.ts';
import { layerCompression, layerMediaType, MediaType } from '../../../../src/bundle/media-types.ts';
import { BundleLimits, parseDescriptor, parseIndex, parseManifest } from '../../../../src/bundle/parse.ts';
import { referencedBlobs } from '../../../../src/bundle/references.ts';
import { sha256Digest, type Digest } from '../../../../src/digest/digest.ts';
import { ExitStatus } from '../../../../src/errors.ts';
import { typedFailure, typedThrow } from '../support.ts';

const d = (s: string): Digest => sha256Digest(s);
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const created = new Date('2024-05-06T07:08:09.000Z');

function manifestBytes(layers = 2): Uint8Array {
  return buildManifest({
    config: { digest: d('config'), size: 321 },
    layers: Array.from({ length: layers }, (_, i) => ({ mediaType: MediaType.ociLayerZstd, digest: d(`layer${i}`), size: 1000 + i, ...(i === 0 ? { uncompressedSize: 5000 } : {}) })),
  });
}

function entry(overrides: Partial<IndexEntry> = {}): IndexEntry {
  const manifest = manifestBytes();
  return {
    manifest: { digest: sha256Digest(manifest), size: manifest.length },
    tags: ['charon:local'],
    qualifiedNames: ['docker.io/library/charon:local'],
    imageId: d('config'),
    sourceId: 'sha256:source',
    sourceRef: 'charon-build:123',
    platform: { architecture: 'amd64', os: 'linux' },
    ...overrides,
  };
}

function rawIndex(manifests: unknown[], extra: Record<string, unknown> = {}): Buffer {
  return json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests, annotations: { [Annotation.formatVersion]: '1' }, ...extra });
}

const manifestDescriptor = (annotations?: Record<string, string>) => ({ mediaType: MediaType.ociManifest, digest: d('m'), size: 10, ...(annotations === undefined ? {} : { annotations }) });

describe('build → parse round trip', () => {
  it('a manifest keeps config, layers and the uncompressed size annotation', () => {
    const manifest = parseManifest(manifestBytes());
    expect(manifest.mediaType).toBe(MediaType.ociManifest);
    expect(manifest.config).toEqual({ mediaType: MediaType.ociConfig, digest: d('config'), size: 321 });
    expect(manifest.layers).toEqual([
      { mediaType: MediaType.ociLayerZstd, digest: d('layer0'), size: 1000, annotations: { [Annotation.uncompressedSize]: '5000' } },
      { mediaType: MediaType.ociLayerZstd, digest: d('layer1'), size: 1001 },
    ]);
  });

  it('an index keeps images, tags, ids, format version and producer facts', () => {
    const bytes = buildIndex([entry()], { created, producer: { [Annotation.ciProvider]: 'github' } });
    const index = parseIndex(bytes);
    expect(index.digest).toBe(sha256Digest(bytes));
    expect(index.formatVersion).toBe(1); // manifests alone: readable by format-1 consumers
    expect(index.annotations).toMatchObject({ [Annotation.created]: created.toISOString(), [Annotation.ciProvider]: 'github' });
    expect(index.images).toHaveLength(1);
    expect(index.images[0]).toMatchObject({ tags: ['charon:local'], imageId: d('config'), sourceId: 'sha256:source' });
    const raw = JSON.parse(Buffer.from(bytes).toString()) as { manifests: Array<{ annotations: Record<string, string>; platform: unknown }> };
    expect(raw.manifests[0]!.annotations[Annotation.containerdName]).toBe('docker.io/library/charon:local');
    expect(raw.manifests[0]!.annotations[Annotation.sourceRef]).toBe('charon-build:123');
    expect(raw.manifests[0]!.platform).toEqual({ architecture: 'amd64', os: 'linux' });
    expect(Buffer.from(bytes).toString().endsWith('}\n')).toBe(true);
  });

  it('several tags of one image become one descriptor each and merge back into one image', () => {
    const bytes = buildIndex(
      [entry({ tags: ['charon:local', 'charon:123', 'ghcr.io/o/charon:1'], qualifiedNames: ['docker.io/library/charon:local', 'docker.io/library/charon:123', 'ghcr.io/o/charon:1'] })],
      { created, producer: {} },
    );
    expect((JSON.parse(Buffer.from(bytes).toString()) as { manifests: unknown[] }).manifests).toHaveLength(3);
    const index = parseIndex(bytes);
    expect(index.images).toHaveLength(1);
    expect(index.images[0]!.tags).toEqual(['charon:local', 'charon:123', 'ghcr.io/o/charon:1']);
  });

  it('an untagged image and two images stay apart', () => {
    const other = manifestBytes(1);
    const bytes = buildIndex(
      [entry({ tags: [], qualifiedNames: [] }), entry({ manifest: { digest: sha256Digest(other), size: other.length }, tags: ['b:1'], qualifiedNames: ['docker.io/library/b:1'], sourceId: undefined, sourceRef: undefined, platform: undefined })],
      { created, producer: {} },
    );
    const index = parseIndex(bytes);
    expect(index.images.map((i) => i.tags)).toEqual([[], ['b:1']]);
    expect(index.images[1]!.sourceId).toBeUndefined();
  });

  it('the same input gives the same bytes (a stable bundle digest)', () => {
    expect(Buffer.from(buildIndex([entry()], { created, producer: {} })).equals(Buffer.from(buildIndex([entry()], { created, producer: {} })))).toBe(true);
    expect(JSON.parse(OCI_LAYOUT_CONTENT)).toEqual({ imageLayoutVersion: '1.0.0' });
  });

  it('referencedBlobs lists manifests, configs and layers once', async () => {
    const manifest = manifestBytes();
    const index = buildIndex([entry(), entry({ tags: ['x:1'], qualifiedNames: ['docker.io/library/x:1'] })], { created, producer: {} });
    const reads: Digest[] = [];
    const blobs = await referencedBlobs(index, async (digest) => {
      reads.push(digest);
      return await Promise.resolve(manifest);
    });
    expect(blobs).toEqual([sha256Digest(manifest), d('config'), d('layer0'), d('layer1')]);
    expect(reads).toEqual([sha256Digest(manifest)]);
  });
});

describe('parseIndex refuses', () => {
  it('a newer format version with BUNDLE_VERSION_UNSUPPORTED (exit 6)', () => {
    const error = typedThrow(() => parseIndex(rawIndex([manifestDescriptor()], { annotations: { [Annotation.formatVersion]: String(FORMAT_VERSION + 1) } })), 'BUNDLE_VERSION_UNSUPPORTED');
    expect(error.exitStatus).toBe(ExitStatus.unsupported);
    expect(error.message).toContain(`version ${FORMAT_VERSION + 1}`);
    expect(error.hint).toMatch(/Upgrade/);
  });

  it.each([['0'], ['1.5'], ['one'], ['']])('a format version of %j as BUNDLE_MALFORMED', (version) => {
    typedThrow(() => parseIndex(rawIndex([manifestDescriptor()], { annotations: { [Annotation.formatVersion]: version } })), 'BUNDLE_MALFORMED');
  });

  it('accepts a plain OCI layout without our format annotation', () => {
    expect(parseIndex(rawIndex([manifestDescriptor()], { annotations: undefined })).formatVersion).toBeUndefined();
  });

  it('an index or manifest media type it does not know (MEDIA_TYPE_UNSUPPORTED, exit 6); an image index is an image', () => {
    expect(parseIndex(rawIndex([{ ...manifestDescriptor(), mediaType: MediaType.ociIndex }])).images[0]!.manifest.mediaType).toBe(MediaType.ociIndex);
    const error = typedThrow(() => parseIndex(rawIndex([{ ...manifestDescriptor(), mediaType: 'application/x-unknown' }])), 'MEDIA_TYPE_UNSUPPORTED');
    expect(error.exitStatus).toBe(ExitStatus.unsupported);
    typedThrow(() => parseIndex(rawIndex([manifestDescriptor()], { mediaType: MediaType.dockerManifestList })), 'MEDIA_TYPE_UNSUPPORTED');
  });

  it.each([
    ['sha256:../../../etc/passwd'],
    ['../blobs/sha256/x'],
    ['sha256:/etc/shadow'],
    ['sha256:..'],
    ['sha256:a\\b'],
  ])('a descriptor digest %j with PATH_UNSAFE', (digest) => {
    const error = typedThrow(() => parseIndex(rawIndex([{ ...manifestDescriptor(), digest }])), 'PATH_UNSAFE');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
  });

  it('an image id annotation that is a path with PATH_UNSAFE', () => {
    typedThrow(() => parseIndex(rawIndex([manifestDescriptor({ [Annotation.imageId]: '../../x' })])), 'PATH_UNSAFE');
  });

  it.each([
    ['not JSON', Buffer.from('{"schemaVersion": 2,')],
    ['empty', Buffer.alloc(0)],
    ['a JSON list', json([])],
    ['JSON null', Buffer.from('null')],
    ['a string', json('index')],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['schemaVersion 1', json({ schemaVersion: 1, manifests: [] })],
    ['no manifests', json({ schemaVersion: 2 })],
    ['manifests an object', json({ schemaVersion: 2, manifests: {} })],
    ['no images', rawIndex([])],
    ['a descriptor that is a string', rawIndex(['sha256:x'])],
    ['no mediaType', rawIndex([{ digest: d('m'), size: 1 }])],
    ['a sha512 digest', rawIndex([{ ...manifestDescriptor(), digest: `sha512:${'a'.repeat(128)}` }])],
    ['a negative size', rawIndex([{ ...manifestDescriptor(), size: -1 }])],
    ['a fractional size', rawIndex([{ ...manifestDescriptor(), size: 1.5 }])],
    ['a string size', rawIndex([{ ...manifestDescriptor(), size: '10' }])],
    ['a size past 2^53', rawIndex([{ ...manifestDescriptor(), size: 2 ** 60 }])],
    ['annotations of numbers', rawIndex([{ ...manifestDescriptor(), annotations: { a: 1 } }])],
    ['annotations as a list', rawIndex([manifestDescriptor()], { annotations: ['x'] })],
    ['too many annotations', rawIndex([{ ...manifestDescriptor(), annotations: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'])) }])],
  ])('%s with BUNDLE_MALFORMED', (_what, bytes) => {
    const error = typedThrow(() => parseIndex(bytes), 'BUNDLE_MALFORMED');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
    expect(error.hint).toMatch(/Export it again/);
  });

  it('deeply nested JSON (100k levels) anywhere with BUNDLE_MALFORMED, not a crash', () => {
    const deep = (open: string, close: string, inner = ''): string => `${open.repeat(100_000)}${inner}${close.repeat(100_000)}`;
    const documents = [
      deep('[', ']'),
      deep('{"a":', '}', '1'),
      `{"schemaVersion":${deep('[', ']')},"manifests":[]}`,
      `{"schemaVersion":2,"manifests":${deep('[', ']')}}`,
      `{"schemaVersion":2,"mediaType":${deep('{"a":', '}', '1')},"manifests":[]}`,
      `{"schemaVersion":2,"manifests":[{"mediaType":"${MediaType.ociManifest}","digest":${deep('[', ']')},"size":1}]}`,
      `{"schemaVersion":2,"manifests":[{"mediaType":"${MediaType.ociManifest}","digest":"${d('m')}","size":${deep('[', ']')}}]}`,
      `{"schemaVersion":2,"manifests":[{"mediaType":"${MediaType.ociManifest}","digest":"${d('m')}","size":1,"annotations":{"a":${deep('[', ']')}}}]}`,
    ];
    for (const text of documents) {
      const error = typedThrow(() => parseIndex(Buffer.from(text)), text.includes('"mediaType":{') ? 'MEDIA_TYPE_UNSUPPORTED' : 'BUNDLE_MALFORMED');
      expect(error.message.length).toBeLessThan(500);
    }
    typedThrow(() => parseManifest(Buffer.from(`{"schemaVersion":2,"config":${deep('[', ']')},"layers":[]}`)), 'BUNDLE_MALFORMED');
  });

  it(`more than ${BundleLimits.maxImages} manifests, or an oversize manifest, with LIMIT_EXCEEDED`, () => {
    const many = Array.from({ length: BundleLimits.maxImages + 1 }, () => manifestDescriptor());
    const error = typedThrow(() => parseIndex(rawIndex(many)), 'LIMIT_EXCEEDED');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
    expect(parseIndex(rawIndex(many.slice(1))).images).toHaveLength(1);
    typedThrow(() => parseIndex(rawIndex([{ ...manifestDescriptor(), size: BundleLimits.maxManifestBytes + 1 }])), 'LIMIT_EXCEEDED');
  });
});

describe('parseManifest refuses', () => {
  const manifest = (overrides: Record<string, unknown>) =>
    json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: d('c'), size: 2 }, layers: [], ...overrides });

  it('accepts docker media types and no layers', () => {
    expect(parseManifest(manifest({ mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: d('c'), size: 2 }, layers: [{ mediaType: MediaType.dockerLayerGzip, digest: d('l'), size: 1 }] })).layers).toHaveLength(1);
    expect(parseManifest(manifest({})).layers).toEqual([]);
  });

  it('unknown config or layer media types with MEDIA_TYPE_UNSUPPORTED', () => {
    typedThrow(() => parseManifest(manifest({ config: { mediaType: 'application/x-helm', digest: d('c'), size: 2 } })), 'MEDIA_TYPE_UNSUPPORTED');
    const error = typedThrow(() => parseManifest(manifest({ layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+bzip2', digest: d('l'), size: 1 }] })), 'MEDIA_TYPE_UNSUPPORTED');
    expect(error.hint).toMatch(/tar\+zstd/);
  });

  it('too many layers or an oversize config with LIMIT_EXCEEDED', () => {
    const layers = Array.from({ length: BundleLimits.maxLayers + 1 }, () => ({ mediaType: MediaType.ociLayer, digest: d('l'), size: 1 }));
    typedThrow(() => parseManifest(manifest({ layers })), 'LIMIT_EXCEEDED');
    typedThrow(() => parseManifest(manifest({ config: { mediaType: MediaType.ociConfig, digest: d('c'), size: BundleLimits.maxConfigBytes + 1 } })), 'LIMIT_EXCEEDED');
  });

  it('a layer digest that climbs out with PATH_UNSAFE, and shape errors with BUNDLE_MALFORMED', () => {
    typedThrow(() => parseManifest(manifest({ layers: [{ mediaType: MediaType.ociLayer, digest: '../../../../etc/passwd', size: 1 }] })), 'PATH_UNSAFE');
    typedThrow(() => parseManifest(manifest({ layers: 'none' })), 'BUNDLE_MALFORMED');
    typedThrow(() => parseManifest(manifest({ schemaVersion: 1 })), 'BUNDLE_MALFORMED');
    typedThrow(() => parseManifest(manifest({ config: null })), 'BUNDLE_MALFORMED');
    typedThrow(() => parseDescriptor(undefined, 'x'), 'BUNDLE_MALFORMED');
  });

  it('referencedBlobs passes a manifest read failure on', async () => {
    const index = buildIndex([entry()], { created, producer: {} });
    await typedFailure(referencedBlobs(index, async () => await Promise.resolve(Buffer.from('nope'))), 'BUNDLE_MALFORMED');
  });
});

describe('media types', () => {
  it('maps compressions both ways', () => {
    for (const c of ['zstd', 'gzip', 'none'] as const) expect(layerCompression(layerMediaType(c))).toBe(c);
    expect(layerCompression(MediaType.dockerLayer)).toBe('none');
    expect(layerCompression(MediaType.dockerLayerGzip)).toBe('gzip');
    expect(layerCompression('application/octet-stream')).toBeUndefined();
  });
});
