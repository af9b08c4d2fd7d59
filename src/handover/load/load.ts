import type { Platform } from '../../bundle/model.ts';
import type { ZstdCodec } from '../../compression/codecs.ts';
import { Defaults } from '../../defaults.ts';
import { requireApi } from '../../engine/api-version.ts';
import { parseDigest, type Digest } from '../../digest/digest.ts';
import type { Engine } from '../../engine/engine.ts';
import { VerificationError } from '../../errors.ts';
import { chooseLoadStrategy, type ClassicLoad, type LoadStrategy } from './load-strategy.ts';
import { planOciLayoutLoad } from './oci-layout-load.ts';
import type { LayerReading } from './verified-layer.ts';
import { verifyImage } from './verify-image.ts';
import { familiarRepository, familiarTag, parseTagReference } from '../../ref/reference.ts';
import { parseBundleName } from '../../store/bundle-name.ts';
import type { Store } from '../../store/store.ts';
import { resolveBundle, type ResolvedImage } from '../bundle-reader.ts';
import { chainsOnEngine } from './engine-layers.ts';
import { planLoad } from './load-plan.ts';
import { PhaseClock, type PhaseTimings, type ProgressListener } from '../progress.ts';
import { runLoads } from './run-loads.ts';
import { spentBufferCollector } from '../../io/spent-buffers.ts';

export interface LoadOptions {
  store: Store;
  engine: Engine;
  /** The bundle's name in the store (default docker-image). */
  name?: string | undefined;
  /** The bundle digest the producer printed: any other bundle is refused. */
  expect?: string | undefined;
  /** Tags that must be in the bundle (and so end up verified on the engine). */
  requireTags?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ProgressListener | undefined;
  /**
   * Layer bytes after which a load ends and the next begins, overlapped, on
   * engines with their own layer store (default 32 MiB; 1 gives every layer
   * a load of its own).
   */
  stepBytes?: number | undefined;
  zstd?: ZstdCodec | undefined;
  /** The platform to load from a multi-platform image (default: the engine's). */
  platform?: Platform | undefined;
  /** How Docker 25+ on its own layer store takes the bundle (see load-strategy.ts); default 'steps'. */
  classicLoad?: ClassicLoad | undefined;
}

export interface LoadedImage {
  tags: string[];
  imageId: string;
  layers: number;
  /** What each tag pointed at before the load, if anything. */
  previous: Record<string, string | null>;
}

export interface LoadResult {
  name: string;
  bundleDigest: Digest;
  store: { kind: string; location: string };
  images: LoadedImage[];
  /** Bytes streamed into the engine; stored bytes of layers it already held (skipped). */
  bytes: { read: number; loaded: number; skipped: number };
  /** Layers the engine already held: neither read nor sent. */
  skippedLayers: number;
  /** How the bundle went in: docker save's layout in overlapped steps, or one OCI layout (see load-strategy.ts). */
  strategy: LoadStrategy['kind'];
  timings: { phases: PhaseTimings; totalMs: number };
  verified: true;
}

function requiredTags(tags: readonly string[] | undefined, images: ResolvedImage[], bundle: string): void {
  const present = new Set(images.flatMap((image) => image.entry.tags.map((t) => familiarTag(parseTagReference(t)))));
  for (const tag of tags ?? []) {
    const wanted = familiarTag(parseTagReference(tag, 'a required tag'));
    if (!present.has(wanted)) {
      throw new VerificationError(`Bundle '${bundle}' does not carry the tag ${wanted}; it has ${present.size === 0 ? 'no tags' : [...present].join(', ')}.`, {
        hint: 'Export with --tag set to the tag the consumers use (the plan uses charon:local).',
        details: { required: wanted, present: [...present] },
      });
    }
  }
}

/** What went into the engine, and the id each image must now have there. */
interface LayersMoved {
  ids: Map<ResolvedImage, Digest>;
  totalBytes: number;
  skippedLayers: number;
  skippedBytes: number;
}

/**
 * Load: bundle -> verified as it streams -> engine, untagged; then each image
 * is checked on the engine and only then tagged, so a tag never points at an
 * unverified image: after any failure it is absent or keeps its old image.
 */
export async function loadBundle(options: LoadOptions): Promise<LoadResult> {
  const name = parseBundleName(options.name ?? Defaults.bundleName);
  const expect = options.expect === undefined || options.expect === '' ? undefined : parseDigest(options.expect, '--expect digest');
  for (const tag of options.requireTags ?? []) parseTagReference(tag, 'a required tag');
  const clock = new PhaseClock();
  const { engine } = options;
  clock.start('engine check');
  // Asked alongside the version (Podman answers each slowly); awaited once the bundle is verified.
  engine.usesContainerdStore().catch(() => undefined);
  const version = await engine.version();
  requireApi(version, engine.endpoint);
  const platform = options.platform ?? { os: version.os, architecture: version.arch };
  clock.start('store read');
  const source = await options.store.openBundle(name);
  let partials: Digest[] = [];
  try {
    clock.start('verify bundle');
    const bundle = await resolveBundle(source, expect, { platform, asked: options.platform !== undefined });
    requiredTags(options.requireTags, bundle.images, name);

    const strategy = chooseLoadStrategy(version, await engine.usesContainerdStore(), options.classicLoad);
    let read = 0;
    const spent = spentBufferCollector();
    let total = 0;
    const reading: LayerReading = {
      zstd: options.zstd ?? 'command',
      engineReadsZstd: strategy.kind === 'oci-layout' || strategy.engineReadsZstd,
      onBytes: (n) => {
        read += n;
        spent(n);
        options.onProgress?.({ phase: 'load', bytes: read, total });
      },
    };
    let moved: LayersMoved;
    if (strategy.kind === 'steps') {
      clock.start('engine layers');
      const present = await chainsOnEngine(engine);
      clock.start('stream');
      const plan = planLoad(source, bundle.images, present, options.stepBytes ?? Defaults.loadStepBytes, reading);
      total = plan.totalBytes;
      partials = plan.steps.flatMap((step) => step.partialImageId ?? []);
      await runLoads(engine, plan.steps, options.signal, () => clock.start('engine load'));
      moved = { ids: new Map(bundle.images.map((image) => [image, image.configDigest])), totalBytes: plan.totalBytes, skippedLayers: plan.skippedLayers, skippedBytes: plan.skippedBytes };
    } else {
      clock.start('stream');
      const plan = planOciLayoutLoad(source, bundle.images, { dockerManifest: strategy.dockerManifest, read: reading });
      total = plan.totalBytes;
      await runLoads(engine, [{ files: plan.files, closing: plan.closing, partialImageId: undefined }], options.signal, () => clock.start('engine load'));
      moved = { ids: plan.ids, totalBytes: plan.totalBytes, skippedLayers: 0, skippedBytes: 0 };
    }

    // A signal that came while the engine worked must not be followed by tagging.
    options.signal?.throwIfAborted();
    clock.start('verify');
    const loaded: LoadedImage[] = [];
    for (const image of bundle.images) {
      const id = await verifyImage(engine, image, moved.ids.get(image)!);
      const previous: Record<string, string | null> = {};
      for (const tag of image.entry.tags) {
        const ref = parseTagReference(tag);
        const familiar = familiarTag(ref);
        previous[familiar] = (await engine.inspectImage(familiar))?.id ?? null;
        await engine.tagImage(id, familiarRepository(ref), ref.tag);
        const now = await engine.inspectImage(familiar);
        if (now?.id !== id) {
          throw new VerificationError(`After tagging, ${familiar} points at ${now?.id ?? 'nothing'} instead of ${id}.`, {
            hint: 'Another process changed the tag at the same time. Load again.',
          });
        }
      }
      loaded.push({ tags: image.entry.tags.map((t) => familiarTag(parseTagReference(t))), imageId: id, layers: image.manifest.layers.length, previous });
    }
    return {
      name,
      bundleDigest: bundle.index.digest,
      store: { kind: options.store.kind, location: options.store.location },
      images: loaded,
      bytes: { read, loaded: moved.totalBytes, skipped: moved.skippedBytes },
      skippedLayers: moved.skippedLayers,
      strategy: strategy.kind,
      timings: clock.result(),
      verified: true,
    };
  } finally {
    // Partial images were steps of this load. After a success the images hold their layers;
    // after a failure, removing them leaves the engine as it was.
    for (const id of partials) await engine.removeImage(id).catch(() => false);
    await source.close();
  }
}
