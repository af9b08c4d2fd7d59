import { describe, expect, it } from 'vitest';
import type { ArchiveImage, LayerBlob } from '../../../../../src/archive/image-archive.ts';
import { sha256Digest } from '../../../../../src/digest/digest.ts';
import { MalformedArchiveError } from '../../../../../src/errors.ts';
import { bottomLayerForHeadStart, bottomLayerReuse, checkBottomReuse } from '../../../../../src/handover/export/head-start.ts';

const blob = (seed: string): LayerBlob => ({ digest: sha256Digest(Buffer.from(seed)), size: 1, mediaType: 'm', uncompressedSize: 2, written: true });
const diffId = sha256Digest(Buffer.from('bottom diff'));
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('bottomLayerReuse', () => {
  it("recognises the legacy layer whose json names no parent, and only a layer.tar", () => {
    const bottom = blob('bottom');
    const { reuse, reused } = bottomLayerReuse(diffId, bottom);
    expect(reuse({ path: 'b/layer.tar', digest: undefined, legacyJson: json({ id: 'b', parent: 'a' }) })).toBeUndefined();
    expect(reuse({ path: 'a/other', digest: undefined, legacyJson: json({ id: 'a' }) })).toBeUndefined();
    expect(reuse({ path: 'c/layer.tar', digest: undefined, legacyJson: undefined })).toBeUndefined();
    expect(reuse({ path: 'd/layer.tar', digest: undefined, legacyJson: Buffer.from('not json') })).toBeUndefined();
    expect(reuse({ path: 'a/layer.tar', digest: undefined, legacyJson: json({ id: 'a' }) })).toBe(bottom);
    expect(reused).toEqual(['a/layer.tar']);
  });

  it('recognises a layer named by the bottom diff id, not by another digest', () => {
    const bottom = blob('bottom');
    const { reuse, reused } = bottomLayerReuse(diffId, bottom);
    expect(reuse({ path: 'blobs/sha256/x', digest: sha256Digest(Buffer.from('other')), legacyJson: undefined })).toBeUndefined();
    expect(reuse({ path: 'blobs/sha256/y', digest: diffId, legacyJson: json({ id: 'a' }) })).toBe(bottom);
    expect(reused).toEqual(['blobs/sha256/y']);
  });
});

describe('bottomLayerForHeadStart', () => {
  const MiB = 1024 * 1024;
  it('takes the first history step that made a layer, between the threshold and 1 GiB', () => {
    expect(bottomLayerForHeadStart([0, 0, 100 * MiB, 5 * MiB], 64 * MiB)).toBe(100 * MiB);
    expect(bottomLayerForHeadStart([10 * MiB, 500 * MiB], 64 * MiB)).toBeUndefined();
    expect(bottomLayerForHeadStart([1024 * MiB, 1], 64 * MiB)).toBe(1024 * MiB);
    expect(bottomLayerForHeadStart([1025 * MiB, 1], 64 * MiB)).toBeUndefined();
    expect(bottomLayerForHeadStart([0, 0], 1)).toBeUndefined();
    expect(bottomLayerForHeadStart([], 1)).toBeUndefined();
  });
});

describe('checkBottomReuse', () => {
  const bottom = blob('bottom');
  const image = (layers: LayerBlob[]): ArchiveImage => ({ config: Buffer.from('{}'), configDigest: sha256Digest(Buffer.from('{}')), tags: [], layers, manifest: undefined, platform: undefined, index: undefined });

  it('accepts the reused layer at the bottom, or no reuse at all', () => {
    expect(() => checkBottomReuse([image([bottom, blob('2')])], bottom, ['a/layer.tar'])).not.toThrow();
    expect(() => checkBottomReuse([image([blob('1'), blob('2')])], bottom, [])).not.toThrow();
  });

  it('accepts the bottom layer held again higher up (a link to its first copy)', () => {
    expect(() => checkBottomReuse([image([bottom, blob('2'), bottom])], bottom, ['a/layer.tar'])).not.toThrow();
  });

  it('refuses a reused layer anywhere else, twice, or in several images', () => {
    for (const [images, reused] of [
      [[image([blob('1'), bottom])], ['b/layer.tar']],
      [[image([bottom, bottom])], ['a/layer.tar', 'b/layer.tar']],
      [[image([blob('1'), bottom])], []],
      [[image([blob('1')])], ['a/layer.tar']],
      [[image([bottom]), image([blob('3')])], ['a/layer.tar']],
    ] as Array<[ArchiveImage[], string[]]>) {
      expect(() => checkBottomReuse(images, bottom, reused)).toThrow(MalformedArchiveError);
    }
  });
});
