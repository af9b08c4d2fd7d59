import { randomBytes } from 'node:crypto';
import { readImageArchive, type ArchiveImage, type LayerBlob, type LayerReuse, type LayerSink } from '../../archive/image-archive.ts';
import { writeTar, type TarFile } from '../../archive/tar/tar-writer.ts';
import { digestHex, sha256Digest, type Digest } from '../../digest/digest.ts';
import { Defaults } from '../../defaults.ts';
import { apiAtLeast } from '../../engine/api-version.ts';
import type { Engine, ImageInfo } from '../../engine/engine.ts';
import { MalformedArchiveError } from '../../errors.ts';
import type { BorrowedChunks } from '../../io/borrowed-chunks.ts';
import { PARTIAL_IMAGE_LABEL } from '../helper-images.ts';
import type { PhaseClock } from '../progress.ts';

/** The largest bottom layer given one: the engine stages it twice, and its second copy must not be what fills the disk. */
export const MAX_HEAD_START_BYTES = 1024 * 1024 * 1024;

/**
 * When a head start is given: 'auto' on the engines where it was measured
 * to pay (Docker before 25, on its own layer store), a size to give it on any
 * engine with its own layer store from that bottom-layer size on, or 'off'.
 * On Docker 28.5 classic and Podman 4.3 it cost more than it saved here (a
 * 1.4 GiB image on 2 cores: 24.9-27.0 s against 22.6-23.1 s, and 31-34 s
 * against 25-26 s): they stage the bottom image's save as slowly as the full one.
 */
export type HeadStartPolicy = number | 'auto' | 'off';

/** The first Engine API (Docker 25) of the engines where the head start was measured not to pay. */
const NO_HEAD_START_API = [1, 44] as const;

/**
 * Whether the image's bottom layer gets a head start: an engine writes its
 * whole save to disk before the first byte, so a large bottom layer saved on
 * its own, beside the full save, is compressed while the engine still writes
 * the rest. Only for one image from an engine with its own layer store (a
 * containerd-backed one holds no layers to stand in for). Returns the
 * bottom layer's size when it gets one.
 */
export async function headStartBytes(engine: Engine, references: readonly string[], infos: readonly ImageInfo[], policy: HeadStartPolicy): Promise<number | undefined> {
  const [reference] = references;
  const [info] = infos;
  if (policy === 'off' || reference === undefined || info === undefined || references.length !== 1) return undefined;
  if (info.diffIds.length < 2) return undefined;
  if (policy === 'auto') {
    const version = await engine.version();
    if (version.product !== 'docker' || apiAtLeast(version.apiVersion, NO_HEAD_START_API)) return undefined;
  }
  if (await engine.usesContainerdStore()) return undefined;
  const minBytes = policy === 'auto' ? Defaults.headStartBytes : policy;
  let history: number[];
  try {
    history = await engine.historySizes(reference);
  } catch {
    // An optimisation only: an engine that cannot tell an image's history (Podman 4.3 fails on
    // history entries without a time) gets the plain save.
    return undefined;
  }
  return bottomLayerForHeadStart(history, minBytes);
}

/** The bottom layer's size by the image's history (its first step that made a layer), if it gets a head start. */
export function bottomLayerForHeadStart(historySizes: readonly number[], minBytes: number): number | undefined {
  const bottom = historySizes.find((size) => size > 0) ?? 0;
  return bottom >= minBytes && bottom <= MAX_HEAD_START_BYTES ? bottom : undefined;
}

/**
 * Puts an image of the bottom layer alone on the engine, labelled as ours
 * like the load's partial images: the engine holds the layer, so the load
 * carries only a config and a stand-in file it does not open. Each export
 * makes its own (its config names the export), so exports of one image that
 * run at once do not remove each other's. Returns its id.
 */
export async function loadBottomImage(engine: Engine, info: ImageInfo, signal: AbortSignal | undefined): Promise<Digest> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: info.architecture,
      os: info.os,
      ...(info.variant === undefined ? {} : { variant: info.variant }),
      config: { Labels: { [PARTIAL_IMAGE_LABEL]: info.id } },
      rootfs: { type: 'layers', diff_ids: info.diffIds.slice(0, 1) },
      history: [{ created_by: `image-handover: the bottom layer of ${info.id}, for export ${randomBytes(8).toString('hex')}` }],
    }),
  );
  const id = sha256Digest(config);
  const configPath = `${digestHex(id)}.json`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configPath, RepoTags: null, Layers: ['bottom/layer.tar'] }]));
  const files: TarFile[] = [
    { name: configPath, size: config.length, content: () => [config] },
    { name: 'bottom/layer.tar', size: 0, content: () => [] },
    { name: 'manifest.json', size: manifest.length, content: () => [manifest] },
  ];
  await engine.loadImages(writeTar(files), signal);
  return id;
}

/**
 * Recognises the bottom layer in the full save, so its bytes are passed
 * over: by its digest where the archive names layers so (OCI layouts), or
 * as the one layer whose legacy json names no parent.
 */
export function bottomLayerReuse(diffId: string, blob: LayerBlob): { reuse: LayerReuse; reused: string[] } {
  const reused: string[] = [];
  const reuse: LayerReuse = ({ path, digest, legacyJson }) => {
    const bottom = digest === undefined ? path.endsWith('/layer.tar') && legacyJson !== undefined && namesNoParent(legacyJson) : digest === diffId;
    if (!bottom) return undefined;
    reused.push(path);
    return blob;
  };
  return { reuse, reused };
}

function namesNoParent(json: Buffer): boolean {
  try {
    const value = JSON.parse(json.toString('utf8')) as unknown;
    return value !== null && typeof value === 'object' && !('parent' in value);
  } catch {
    return false;
  }
}

/**
 * The layer passed over must be the image's bottom layer, and the only one
 * passed over. (It may sit higher up too: docker save links a layer an
 * image holds twice to its first copy.)
 */
export function checkBottomReuse(images: readonly ArchiveImage[], blob: LayerBlob, reused: readonly string[]): void {
  const [image] = images;
  const placed = image?.layers.flatMap((layer, i) => (layer === blob ? [i] : [])) ?? [];
  const bottomOnly = reused.length === 0 ? placed.length === 0 : reused.length === 1 && placed[0] === 0;
  if (images.length === 1 && bottomOnly) return;
  throw new MalformedArchiveError(
    `The engine's save did not have the layout expected: the layer passed over as the bottom one (${reused.join(', ')}) is at position ${placed.map((i) => i + 1).join(', ') || 'none'} of ${images.length} image(s).`,
    { hint: 'Export again with HANDOVER_HEAD_START_BYTES=off, and report the engine version with this message.' },
  );
}

/** Counts a stream's bytes as it is read; `done` records the count once it is. */
export type Counted = (stream: AsyncIterable<Uint8Array>) => { stream: AsyncIterable<Uint8Array>; done: () => void };

export interface HeadStartOptions {
  engine: Engine;
  references: readonly string[];
  /** The image whose bottom layer gets the head start. */
  info: ImageInfo;
  sink: LayerSink;
  counted: Counted;
  clock: PhaseClock;
  signal: AbortSignal | undefined;
}

/** The bottom layer, stored, and what recognises it in the full save. */
export interface BottomLayer {
  blob: LayerBlob;
  reuse: LayerReuse;
  /** The paths passed over in the full save, filled in as it is read. */
  reused: string[];
}

export interface HeadStart {
  /** The full save, asked for at once. */
  fullSave: Promise<BorrowedChunks>;
  /** Undefined when the engine declined the bottom image or could not save it: the full save alone goes on. */
  bottom: BottomLayer | undefined;
}

/**
 * Saves an image of the bottom layer alone while the engine writes the full
 * save, and stores that layer through `sink` meanwhile. The full save is
 * asked for at the same time and handed back with what recognises the
 * bottom layer in it; the bottom image is removed once read.
 */
export async function giveBottomLayerAHeadStart(options: HeadStartOptions): Promise<HeadStart> {
  const { engine, references, info, sink, counted, clock, signal } = options;
  clock.start('head start');
  let bottomId: Digest;
  try {
    bottomId = await loadBottomImage(engine, info, signal);
  } catch {
    signal?.throwIfAborted();
    return { fullSave: engine.saveImages(references, signal), bottom: undefined };
  }
  const fullAbort = new AbortController();
  const fullSignal = signal === undefined ? fullAbort.signal : AbortSignal.any([signal, fullAbort.signal]);
  try {
    const fullSave = engine.saveImages(references, fullSignal);
    fullSave.catch(() => undefined); // awaited by the caller, or abandoned below
    let bottomSave: BorrowedChunks;
    try {
      bottomSave = await engine.saveImages([bottomId], signal);
    } catch {
      signal?.throwIfAborted();
      return { fullSave, bottom: undefined }; // the engine could not save it (its disk full, say)
    }
    const input = counted(bottomSave);
    const { images: bottom } = await readImageArchive(input.stream, sink);
    input.done();
    const blob = bottom.length === 1 && bottom[0]?.layers.length === 1 ? bottom[0].layers[0] : undefined;
    if (blob === undefined) throw new MalformedArchiveError(`The engine's save of the bottom layer of ${info.id} held ${bottom.length} image(s), expected one of one layer.`);
    return { fullSave, bottom: { blob, ...bottomLayerReuse(info.diffIds[0] ?? '', blob) } };
  } catch (error) {
    fullAbort.abort();
    throw error;
  } finally {
    await engine.removeImage(bottomId).catch(() => false);
  }
}
