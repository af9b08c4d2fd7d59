/**
 * image-handover as a library: the flows (export, load, inspect), the
 * engine and stores they join, the workflow checker, and the typed errors.
 */
export { exportImages, type ExportOptions, type ExportResult, type ExportSource, type ExportedImage } from './handover/export/export.ts';
export { loadBundle, type LoadOptions, type LoadResult, type LoadedImage } from './handover/load/load.ts';
export { inspectBundle, type InspectResult } from './handover/inspect.ts';
export { producerAnnotations } from './handover/ci-context.ts';
export type { ProgressEvent, ProgressListener, PhaseTimings } from './handover/progress.ts';

export type { Engine, EngineVersion, ImageInfo } from './engine/engine.ts';
export { DockerEngine } from './engine/docker-engine.ts';
export { parseDockerHost, type EngineEndpoint } from './engine/docker-host.ts';

export type { Store, BundleWriter, BundleSource, BundleListing, PublishedBundle, StoredBlob } from './store/store.ts';
export { LocalStore } from './store/local/local-store.ts';
export { selectStore, type StoreSelection, type RunnerContext } from './store/select-store.ts';
export { readSettings, type Settings } from './entry/settings.ts';
export { Defaults } from './defaults.ts';
export type { ZstdCodec } from './compression/codecs.ts';

export { parseReference, parseTagReference, familiarTag, qualifiedTag, type ImageReference } from './ref/reference.ts';
export { parseDigest, isDigest, type Digest } from './digest/digest.ts';
export type { Compression } from './bundle/media-types.ts';
export { FORMAT_VERSION, Annotation } from './bundle/annotations.ts';

export { checkWorkflows, type CheckResult } from './workflow/check.ts';
export type { Finding, Level } from './workflow/findings.ts';
export { migrateWorkflow, type MigrateResult } from './workflow/migrate/migrate.ts';
export type { MigrateOptions, MigrateStyle } from './workflow/migrate/options.ts';
export { unifiedDiff, diffLabels } from './workflow/migrate/diff.ts';

export * from './errors.ts';
export { VERSION } from './version.ts';
