import type { BorrowedChunks } from '../io/borrowed-chunks.ts';

export interface EngineVersion {
  /** Docker Engine, or Podman's Docker-compatible service. */
  product: 'docker' | 'podman';
  version: string;
  apiVersion: string;
  minApiVersion: string;
  os: string;
  arch: string;
}

/** What the engine says of an image (GET /images/{name}/json), in the parts handover uses. */
export interface ImageInfo {
  /** The image id: the config digest on classic engines, the manifest digest on containerd-backed ones. */
  id: string;
  repoTags: string[];
  /** The uncompressed layer digests (diff ids), bottom first. */
  diffIds: string[];
  architecture: string;
  os: string;
  variant: string | undefined;
  size: number;
}

/** The Docker Engine as handover uses it. */
export interface Engine {
  /** Where the engine was reached, for messages (unix:///var/run/docker.sock). */
  readonly endpoint: string;
  version(): Promise<EngineVersion>;
  /** Undefined when the engine has no such image. */
  inspectImage(reference: string): Promise<ImageInfo | undefined>;
  /**
   * The size of each step of the image's history, oldest first (GET
   * /images/{name}/history); steps that made no layer have size 0.
   */
  historySizes(reference: string): Promise<number[]>;
  /** The ids of every image the engine holds, intermediate ones included. */
  listImageIds(): Promise<string[]>;
  /** True when images live in containerd's store (Docker 29's default), not the engine's own layer store. */
  usesContainerdStore(): Promise<boolean>;
  /** The archive `docker save` writes, in chunks lent from the reader's reused buffers. */
  saveImages(references: readonly string[], signal?: AbortSignal): Promise<BorrowedChunks>;
  /** Streams an archive into the engine; resolves with the engine's messages once it has loaded it. */
  loadImages(archive: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<string[]>;
  tagImage(id: string, repository: string, tag: string): Promise<void>;
  /** Removes an untagged image by id (its layers stay while other images use them); false when the engine declined. */
  removeImage(id: string): Promise<boolean>;
}
