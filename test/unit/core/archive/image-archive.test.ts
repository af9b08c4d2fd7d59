import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readImageArchive, type LayerSink } from '../../../../src/archive/image-archive.ts';
import { sniff } from '../../../../src/archive/sniff.ts';
import { Annotation } from '../../../../src/bundle/annotations.ts';
import { MediaType } from '../../../../src/bundle/media-types.ts';
import { digestHex, sha256Digest, type Digest } from '../../../../src/digest/digest.ts';
import { MalformedArchiveError } from '../../../../src/errors.ts';
import { LocalStore } from '../../../../src/store/local/local-store.ts';
import type { BundleWriter } from '../../../../src/store/store.ts';
import { pattern, streamOf, tarOf, tempDirs, typedFailure, type FileSpec } from '../support.ts';

const temp = tempDirs('archive');
afterEach(temp.cleanup);

let store: LocalStore;
let writer: BundleWriter;
let kinds: Map<Digest, string>;

beforeEach(async () => {
  store = new LocalStore(join(await temp.make(), 'store'));
  writer = await store.createBundle('archive-test');
  kinds = new Map();
});

/** Stores each layer unchanged in the bundle writer, as export does with --compression none. */
function storingSink(): LayerSink {
  return async (body, kind, known) => {
    const stored = await writer.writeBlob(Readable.from(body));
    if (known !== undefined && stored.digest !== known) {
      throw new MalformedArchiveError(`Archive blob ${known} does not match its digest (its content hashes to ${stored.digest}).`);
    }
    kinds.set(stored.digest, kind);
    return { ...stored, mediaType: kind, uncompressedSize: undefined };
  };
}

async function stored(digest: Digest): Promise<Buffer> {
  return await readFile(join(store.location, 'blobs', 'sha256', digestHex(digest)));
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function config(n: number): Buffer {
  return json({ architecture: 'amd64', os: 'linux', config: { Cmd: [`/bin/app${n}`] }, rootfs: { type: 'layers', diff_ids: [] } });
}

async function layer(seed: number, size = 3000): Promise<Buffer> {
  return await tarOf([{ name: `etc/file-${seed}`, data: pattern(size, seed) }, { name: 'empty', data: Buffer.alloc(0) }]);
}

async function read(files: FileSpec[], sizes?: number[]) {
  return (await readImageArchive(streamOf(await tarOf(files), sizes), storingSink())).images;
}

describe('docker save archives (manifest.json)', () => {
  it('reads tags, config digest and layers, storing every layer', async () => {
    const [l1, l2] = [await layer(1), await layer(2, 70_000)];
    const cfg = config(1);
    const cfgName = `${digestHex(sha256Digest(cfg))}.json`;
    const images = await read([
      { name: 'l1/VERSION', data: Buffer.from('1.0') },
      { name: 'l1/json', data: json({ id: 'l1' }) },
      { name: 'l1/layer.tar', data: l1 },
      { name: 'l2/layer.tar', data: l2 },
      { name: cfgName, data: cfg },
      { name: 'repositories', data: json({ charon: { local: 'x' } }) },
      { name: 'manifest.json', data: json([{ Config: cfgName, RepoTags: ['charon:local', 'charon:123'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]) },
    ], [4096]);
    expect(images).toHaveLength(1);
    const [image] = images;
    expect(image!.tags).toEqual(['charon:local', 'charon:123']);
    expect(image!.configDigest).toBe(sha256Digest(cfg));
    expect(image!.config.equals(cfg)).toBe(true);
    expect(image!.layers.map((l) => l.digest)).toEqual([sha256Digest(l1), sha256Digest(l2)]);
    expect(image!.layers.map((l) => [l.size, l.written, l.mediaType])).toEqual([[l1.length, true, 'tar'], [l2.length, true, 'tar']]);
    expect((await stored(sha256Digest(l1))).equals(l1)).toBe(true);
    expect((await stored(sha256Digest(l2))).equals(l2)).toBe(true);
  });

  it('reads Docker 25+ layouts (blobs/sha256 paths) with manifest.json first, several images sharing a layer', async () => {
    const [base, a, b] = [await layer(10), await layer(11), await layer(12)];
    const [ca, cb] = [config(1), config(2)];
    const path = (bytes: Buffer) => `blobs/sha256/${digestHex(sha256Digest(bytes))}`;
    const images = await read([
      { name: 'manifest.json', data: json([
        { Config: path(ca), RepoTags: ['app:1'], Layers: [path(base), path(a)] },
        { Config: `./${path(cb)}`, RepoTags: null, Layers: [path(base), `./${path(b)}`] },
      ]) },
      { name: path(base), data: base },
      { name: path(a), data: a },
      { name: path(b), data: b },
      { name: path(ca), data: ca },
      { name: path(cb), data: cb },
    ]);
    expect(images.map((i) => i.tags)).toEqual([['app:1'], []]);
    expect(images.map((i) => i.configDigest)).toEqual([sha256Digest(ca), sha256Digest(cb)]);
    expect(images[0]!.layers[0]).toBe(images[1]!.layers[0]);
    expect(images[1]!.layers.map((l) => l.digest)).toEqual([sha256Digest(base), sha256Digest(b)]);
  });

  it('passes a gzip layer through unchanged, keeping its digest', async () => {
    const gz = gzipSync(await layer(3));
    const cfg = config(3);
    const [image] = await read([
      { name: 'layer.tar.gz', data: gz },
      { name: 'config.json', data: cfg },
      { name: 'manifest.json', data: json([{ Config: 'config.json', RepoTags: ['gz:1'], Layers: ['layer.tar.gz'] }]) },
    ]);
    expect(image!.layers[0]!.digest).toBe(sha256Digest(gz));
    expect(kinds.get(sha256Digest(gz))).toBe('gzip');
    expect((await stored(sha256Digest(gz))).equals(gz)).toBe(true);
  });

  it('takes a layer whose first file name starts with { or [ for a layer, not for JSON', async () => {
    const odd = await tarOf([{ name: '[brackets].txt', data: Buffer.from('x') }]);
    const curly = await tarOf([{ name: '{curly}', data: Buffer.from('y') }]);
    const [image] = await read([
      { name: 'a/layer.tar', data: odd },
      { name: 'b/layer.tar', data: curly },
      { name: 'c.json', data: config(8) },
      { name: 'manifest.json', data: json([{ Config: 'c.json', Layers: ['a/layer.tar', 'b/layer.tar'] }]) },
    ]);
    expect(image!.layers.map((l) => l.digest)).toEqual([sha256Digest(odd), sha256Digest(curly)]);
    expect((await stored(sha256Digest(odd))).equals(odd)).toBe(true);
  });

  it('a layer the store already holds is not written again', async () => {
    const l = await layer(4);
    await writer.putBlob(l);
    const [image] = await read([
      { name: 'l/layer.tar', data: l },
      { name: 'c.json', data: config(4) },
      { name: 'manifest.json', data: json([{ Config: 'c.json', Layers: ['l/layer.tar'] }]) },
    ]);
    expect(image!.layers[0]).toMatchObject({ digest: sha256Digest(l), written: false });
  });

  it.each([
    ['a missing config', [{ Config: 'nope.json', Layers: [] }], /config 'nope.json' of image 1 is missing/],
    ['a missing layer', [{ Config: 'c.json', Layers: ['l/layer.tar', 'gone/layer.tar'] }], /layer 'gone\/layer.tar' of image 1 is missing/],
    ['no Config', [{ Layers: [] }], /lacks Config or Layers/],
    ['no Layers', [{ Config: 'c.json' }], /lacks Config or Layers/],
    ['no images', [], /lists no images/],
    ['not a list', { Config: 'c.json' }, /lists no images/],
    ['a layer that is not a path', [{ Config: 'c.json', Layers: [42] }], /layer '42'/],
  ])('refuses a manifest.json with %s (ARCHIVE_MALFORMED)', async (_what, manifest, message) => {
    const error = await typedFailure(read([
      { name: 'l/layer.tar', data: await layer(5) },
      { name: 'c.json', data: config(5) },
      { name: 'manifest.json', data: json(manifest) },
    ]), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(/docker save/);
  });

  it('refuses a manifest.json that is not JSON', async () => {
    const error = await typedFailure(read([{ name: 'manifest.json', data: Buffer.from('[{"Config": ') }]), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(/is not JSON/);
  });

  it('refuses an archive with neither manifest.json nor index.json', async () => {
    const error = await typedFailure(read([{ name: 'l/layer.tar', data: await layer(6) }, { name: 'other.json', data: json({}) }]), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(/neither manifest.json/);
  });

  it('refuses a metadata file over 16 MiB (LIMIT_EXCEEDED)', async () => {
    const huge = Buffer.alloc(16 * 1024 * 1024 + 10, 0x20);
    huge[0] = '['.charCodeAt(0);
    const error = await typedFailure(read([{ name: 'manifest.json', data: huge }], [1024 * 1024]), 'LIMIT_EXCEEDED');
    expect(error.message).toContain('manifest.json');
  });

  it('refuses a truncated archive with ARCHIVE_MALFORMED', async () => {
    const archive = await tarOf([{ name: 'l/layer.tar', data: await layer(7, 20_000) }]);
    await typedFailure(readImageArchive(streamOf(archive.subarray(0, 9000)), storingSink()), 'ARCHIVE_MALFORMED');
  });
});

interface Blob {
  digest: Digest;
  size: number;
  file: FileSpec;
}

function blob(bytes: Buffer): Blob {
  const digest = sha256Digest(bytes);
  return { digest, size: bytes.length, file: { name: `blobs/sha256/${digestHex(digest)}`, data: bytes } };
}

function descriptor(b: Blob, mediaType: string, annotations?: Record<string, string>) {
  return { mediaType, digest: b.digest, size: b.size, ...(annotations === undefined ? {} : { annotations }) };
}

async function ociImage(seed: number) {
  const layers = [blob(gzipSync(await layer(seed))), blob(gzipSync(await layer(seed + 100, 9000)))];
  const cfg = blob(config(seed));
  const manifest = blob(json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: descriptor(cfg, MediaType.ociConfig),
    layers: layers.map((l) => descriptor(l, MediaType.ociLayerGzip)),
  }));
  return { layers, cfg, manifest, files: [...layers, cfg, manifest].map((b) => b.file) };
}

function indexFile(manifests: unknown[]): FileSpec {
  return { name: 'index.json', data: json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }) };
}

const LAYOUT: FileSpec = { name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) };

describe('OCI layout archives (buildx type=oci, Docker 29 containerd store)', () => {
  it('reads the image, its tag and gzip layers passed through under their digests', async () => {
    const img = await ociImage(1);
    const images = await read([
      LAYOUT,
      ...img.files,
      indexFile([descriptor(img.manifest, MediaType.ociManifest, { [Annotation.containerdName]: 'docker.io/library/charon:local', [Annotation.refName]: 'local' })]),
    ]);
    expect(images).toHaveLength(1);
    expect(images[0]!.tags).toEqual(['docker.io/library/charon:local']);
    expect(images[0]!.configDigest).toBe(img.cfg.digest);
    expect(images[0]!.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    for (const l of img.layers) {
      expect(kinds.get(l.digest)).toBe('gzip');
      expect((await stored(l.digest)).equals(l.file.data)).toBe(true);
    }
  });

  it('takes a full ref.name as a tag but not a bare one, and merges several tags of one image', async () => {
    const img = await ociImage(2);
    const images = await read([
      ...img.files,
      indexFile([
        descriptor(img.manifest, MediaType.ociManifest, { [Annotation.refName]: 'charon:local' }),
        descriptor(img.manifest, MediaType.ociManifest, { [Annotation.refName]: 'latest' }),
        descriptor(img.manifest, MediaType.ociManifest, { [Annotation.refName]: 'ghcr.io/o/charon:1' }),
        descriptor(img.manifest, MediaType.ociManifest, { [Annotation.refName]: 'charon:local' }),
      ]),
    ]);
    expect(images).toHaveLength(1);
    expect(images[0]!.tags).toEqual(['charon:local', 'ghcr.io/o/charon:1']);
  });

  it('follows a nested index and skips attestation manifests and unknown media types', async () => {
    const img = await ociImage(3);
    const attestation = blob(json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: {}, layers: [] }));
    const nested = blob(json({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        descriptor(img.manifest, MediaType.ociManifest),
        descriptor(attestation, MediaType.ociManifest, { 'vnd.docker.reference.type': 'attestation-manifest' }),
      ],
    }));
    const { images, indexes } = await readImageArchive(streamOf(await tarOf([
      ...img.files,
      attestation.file,
      nested.file,
      indexFile([
        descriptor(nested, MediaType.ociIndex, { [Annotation.containerdName]: 'charon:multi' }),
        descriptor(blob(json({ other: true })), 'application/vnd.example+json'),
      ]),
    ])), storingSink());
    expect(images).toHaveLength(1);
    expect(images[0]!.tags).toEqual([]);
    expect(images[0]!.index).toBe(nested.digest);
    expect(images[0]!.manifest?.digest).toBe(img.manifest.digest);
    expect(images[0]!.layers).toHaveLength(2);
    expect(indexes).toHaveLength(1);
    expect(indexes[0]).toMatchObject({ tags: ['charon:multi'], platforms: [img.manifest.digest] });
    expect(indexes[0]!.raw.bytes.equals(nested.file.data)).toBe(true);
  });

  it('refuses indexes nested too deeply', async () => {
    const img = await ociImage(4);
    let inner = img.manifest;
    let innerType: string = MediaType.ociManifest;
    const files = [...img.files];
    for (let i = 0; i < 6; i++) {
      inner = blob(json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [descriptor(inner, innerType)] }));
      innerType = MediaType.ociIndex;
      files.push(inner.file);
    }
    const error = await typedFailure(read([...files, indexFile([descriptor(inner, MediaType.ociIndex)])]), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(/nests another index/);
  });

  it('refuses a missing layer, config or manifest', async () => {
    const img = await ociImage(5);
    const index = indexFile([descriptor(img.manifest, MediaType.ociManifest)]);
    const noLayer = await typedFailure(read([img.layers[0]!.file, img.cfg.file, img.manifest.file, index]), 'ARCHIVE_MALFORMED');
    expect(noLayer.message).toContain(`layer ${img.layers[1]!.digest} is missing`);
    const noConfig = await typedFailure(read([...img.layers.map((l) => l.file), img.manifest.file, index]), 'ARCHIVE_MALFORMED');
    expect(noConfig.message).toContain(`config ${img.cfg.digest} is missing`);
    const noManifest = await typedFailure(read([...img.layers.map((l) => l.file), img.cfg.file, index]), 'ARCHIVE_MALFORMED');
    expect(noManifest.message).toContain(`manifest ${img.manifest.digest} is missing`);
  });

  it('refuses a manifest whose bytes do not match its digest', async () => {
    const img = await ociImage(6);
    const altered = { ...img.manifest.file, data: Buffer.from(img.manifest.file.data.toString().replace('"schemaVersion":2', '"schemaVersion":2 ')) };
    const error = await typedFailure(read([...img.layers.map((l) => l.file), img.cfg.file, altered, indexFile([descriptor(img.manifest, MediaType.ociManifest)])]), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(/does not match its digest/);
  });

  it('refuses a layer blob whose content does not match its name', async () => {
    const img = await ociImage(7);
    const swapped = { ...img.layers[0]!.file, data: img.layers[1]!.file.data };
    await typedFailure(read([swapped, img.layers[1]!.file, img.cfg.file, img.manifest.file, indexFile([descriptor(img.manifest, MediaType.ociManifest)])]), 'ARCHIVE_MALFORMED');
  });

  it('refuses an index with no image manifests, and descriptors with unsafe digests', async () => {
    const empty = await typedFailure(read([indexFile([])]), 'ARCHIVE_MALFORMED');
    expect(empty.message).toMatch(/lists no image manifests/);
    await typedFailure(read([indexFile([{ mediaType: MediaType.ociManifest, digest: 'sha256:../../etc/passwd', size: 1 }])]), 'PATH_UNSAFE');
  });
});

describe('sniff', () => {
  it.each([
    [[0x1f, 0x8b, 8], 'gzip'],
    [[0x28, 0xb5, 0x2f, 0xfd, 0], 'zstd'],
    [[...Buffer.from('  \n{"a":1}')], 'json'],
    [[...Buffer.from('[1]')], 'json'],
    [[...Buffer.from('etc/passwd')], 'tar'],
    [[], 'tar'],
    [[0x20, 0x0a], 'tar'],
  ])('%j is %s', (bytes, kind) => {
    expect(sniff(Buffer.from(bytes))).toBe(kind);
  });
});

describe('layers the caller already holds (reuse)', () => {
  const held = { digest: sha256Digest(Buffer.from('held')), size: 4, mediaType: 'held', uncompressedSize: 9, written: false };

  async function legacyFiles(): Promise<{ files: FileSpec[]; l1: Buffer; l2: Buffer }> {
    const [l1, l2] = [await layer(1, 200_000), await layer(2)];
    const cfg = config(1);
    const cfgName = `${digestHex(sha256Digest(cfg))}.json`;
    const files: FileSpec[] = [
      { name: 'b/VERSION', data: Buffer.from('1.0') },
      { name: 'b/json', data: json({ id: 'b', parent: 'a' }) },
      { name: 'b/layer.tar', data: l2 },
      { name: 'a/VERSION', data: Buffer.from('1.0') },
      { name: 'a/json', data: json({ id: 'a' }) },
      { name: 'a/layer.tar', data: l1 },
      { name: cfgName, data: cfg },
      { name: 'manifest.json', data: json([{ Config: cfgName, RepoTags: ['charon:local'], Layers: ['a/layer.tar', 'b/layer.tar'] }]) },
    ];
    return { files, l1, l2 };
  }

  it('passes over a recognised layer without giving it to the sink, and the image holds what reuse gave', async () => {
    const { files, l1, l2 } = await legacyFiles();
    const seen: Array<{ path: string; json: string | undefined }> = [];
    const { images } = await readImageArchive(streamOf(await tarOf(files), [1000]), storingSink(), {
      reuse: ({ path, legacyJson }) => {
        seen.push({ path, json: legacyJson?.toString() });
        return path === 'a/layer.tar' ? held : undefined;
      },
    });
    expect(seen).toEqual([
      { path: 'b/layer.tar', json: JSON.stringify({ id: 'b', parent: 'a' }) },
      { path: 'a/layer.tar', json: JSON.stringify({ id: 'a' }) },
      { path: expect.stringMatching(/\.json$/) as unknown as string, json: undefined },
      { path: 'manifest.json', json: undefined },
    ]);
    expect(images[0]!.layers[0]).toBe(held);
    expect(images[0]!.layers[1]!.digest).toBe(sha256Digest(l2));
    expect(kinds.has(sha256Digest(l1))).toBe(false);
    await expect(stored(sha256Digest(l1))).rejects.toThrow();
  });

  it('names a layer of an OCI layout by its digest', async () => {
    const l1 = await layer(3);
    const digests: Array<string | undefined> = [];
    const reading = readImageArchive(streamOf(await tarOf([{ name: `blobs/sha256/${digestHex(sha256Digest(l1))}`, data: l1 }, { name: 'index.json', data: json({ manifests: [] }) }])), storingSink(), {
      reuse: ({ digest }) => {
        digests.push(digest);
        return undefined;
      },
    });
    // An index of no images is refused once read; what matters is what reuse was asked.
    await expect(reading).rejects.toThrow(MalformedArchiveError);
    expect(digests).toEqual([sha256Digest(l1), undefined]);
  });
});

/** A tar header of a symbolic link (our writer writes regular files only). */
function symlinkHeader(name: string, linkname: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  for (const [offset, value] of [[100, '0000777'], [108, '0000000'], [116, '0000000'], [124, '00000000000'], [136, '00000000000']] as const) block.write(`${value}\0`, offset);
  block.fill(' ', 148, 156);
  block.write('2', 156);
  block.write(linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257);
  block.write('00', 263);
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

/** A tar of regular files and one symbolic link at `at` (before the file at that index). */
async function tarWithLink(files: FileSpec[], at: number, name: string, linkname: string): Promise<Buffer> {
  const end = 1024;
  const before = await tarOf(files.slice(0, at));
  const after = await tarOf(files.slice(at));
  return Buffer.concat([before.subarray(0, before.length - end), symlinkHeader(name, linkname), after]);
}

describe('a layer an image holds twice (docker save links the second path to the first)', () => {
  async function archiveWithLink(linkname: string): Promise<{ archive: Buffer; l1: Buffer; l2: Buffer }> {
    const [l1, l2] = [await layer(1), await layer(2)];
    const cfg = config(1);
    const cfgName = `${digestHex(sha256Digest(cfg))}.json`;
    const files: FileSpec[] = [
      { name: 'a/layer.tar', data: l1 },
      { name: 'b/layer.tar', data: l2 },
      { name: cfgName, data: cfg },
      { name: 'manifest.json', data: json([{ Config: cfgName, RepoTags: ['dup:1'], Layers: ['a/layer.tar', 'b/layer.tar', 'c/layer.tar'] }]) },
    ];
    return { archive: await tarWithLink(files, 2, 'c/layer.tar', linkname), l1, l2 };
  }

  it('takes the linked path for the layer it points to', async () => {
    const { archive, l1, l2 } = await archiveWithLink('../a/layer.tar');
    const [image] = (await readImageArchive(streamOf(archive, [777]), storingSink())).images;
    expect(image!.layers.map((l) => l.digest)).toEqual([sha256Digest(l1), sha256Digest(l2), sha256Digest(l1)]);
  });

  it('refuses a link that leaves the archive or points at nothing', async () => {
    for (const linkname of ['../../a/layer.tar', '/etc/passwd', '../missing/layer.tar']) {
      const { archive } = await archiveWithLink(linkname);
      const error = await typedFailure(readImageArchive(streamOf(archive), storingSink()), 'ARCHIVE_MALFORMED');
      expect(error.message, linkname).toContain("layer 'c/layer.tar' of image 1 is missing");
    }
  });
});
