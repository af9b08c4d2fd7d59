import { readTar } from '../../src/archive/tar/tar-reader.ts';
import { writeTar, type TarFile } from '../../src/archive/tar/tar-writer.ts';
import { chainIds } from '../../src/bundle/chain-ids.ts';
import { digestHex, sha256Digest } from '../../src/digest/digest.ts';
import type { Engine, EngineVersion, ImageInfo } from '../../src/engine/engine.ts';
import { EngineLoadError, EngineRequestError, ImageNotFoundError } from '../../src/errors.ts';
import { lend, type BorrowedChunks } from '../../src/io/borrowed-chunks.ts';

/**
 * An engine in memory, for the export and load flows' unit tests: it saves
 * images as a classic engine does (docker save's legacy layout, each layer
 * a plain tar), loads docker save's layout as one does (layers it holds are
 * not read, a layer's diff id is checked against the config), and tags,
 * inspects and removes images. Its chunks are lent from one reused buffer,
 * as the real client's are, so a flow that keeps a borrowed chunk reads
 * garbage. Faults are injected through `faults`.
 */

export interface FakeImage {
  id: string;
  config: Buffer;
  diffIds: string[];
  /** History sizes, oldest first (0 for steps without a layer). */
  history: number[];
  labels: Record<string, string>;
}

export interface FakeEngineFaults {
  /** Refuse to load an archive whose manifest names no tag and whose config carries this label (the export's bottom image). */
  refuseLoadWithLabel?: string;
  /** Refuse a save of exactly these references. */
  refuseSave?: (references: readonly string[]) => boolean;
  /** Fail a load after this many archive bytes. */
  breakLoadAfterBytes?: number;
  /** Called as a save is asked for. */
  onSave?: (references: readonly string[]) => void;
  /** Fail a request for an image's history (as Podman 4.3 does for history entries without a time). */
  refuseHistory?: boolean;
}

/** An engine's call log entry, for tests that check the order of work. */
export type EngineCall = { call: 'save'; references: string[] } | { call: 'load'; images: string[] } | { call: 'tag'; id: string; tag: string } | { call: 'remove'; id: string };

const CHUNK = 4096;

export class FakeEngine implements Engine {
  readonly endpoint = 'fake://engine';
  readonly layers = new Map<string, Buffer>();
  readonly images = new Map<string, FakeImage>();
  readonly tags = new Map<string, string>();
  readonly calls: EngineCall[] = [];
  faults: FakeEngineFaults = {};
  /** The Engine API version it claims to speak. */
  apiVersion = '1.41';

  async version(): Promise<EngineVersion> {
    return await Promise.resolve({ product: 'docker', version: '20.10.24-fake', apiVersion: this.apiVersion, minApiVersion: '1.12', os: 'linux', arch: 'amd64' });
  }

  /** Adds an image of these layers (tar bytes), tagged; returns its id. */
  addImage(tag: string | undefined, layerTars: Buffer[], labels: Record<string, string> = {}): string {
    const diffIds = layerTars.map((tar) => sha256Digest(tar));
    for (const [i, tar] of layerTars.entries()) this.layers.set(diffIds[i]!, tar);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: labels },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: layerTars.map((_, i) => ({ created_by: `layer ${i + 1}` })),
      }),
    );
    return this.register(config, layerTars.map((tar) => tar.length), tag);
  }

  private register(config: Buffer, sizes: number[], tag: string | undefined): string {
    const parsed = JSON.parse(config.toString('utf8')) as { rootfs: { diff_ids: string[] }; config?: { Labels?: Record<string, string> | null } };
    const id = sha256Digest(config);
    this.images.set(id, { id, config, diffIds: parsed.rootfs.diff_ids, history: sizes, labels: parsed.config?.Labels ?? {} });
    if (tag !== undefined) this.tags.set(normalTag(tag), id);
    return id;
  }

  private resolve(reference: string): FakeImage | undefined {
    const byId = this.images.get(reference) ?? [...this.images.values()].find((image) => reference.length >= 12 && digestHex(image.id as `sha256:${string}`).startsWith(reference.replace(/^sha256:/, '')));
    if (byId !== undefined) return byId;
    const id = this.tags.get(normalTag(reference));
    return id === undefined ? undefined : this.images.get(id);
  }

  async inspectImage(reference: string): Promise<ImageInfo | undefined> {
    const image = this.resolve(reference);
    if (image === undefined) return undefined;
    const repoTags = [...this.tags.entries()].filter(([, id]) => id === image.id).map(([tag]) => tag);
    const size = image.diffIds.reduce((sum, diffId) => sum + (this.layers.get(diffId)?.length ?? 0), 0);
    return await Promise.resolve({ id: image.id, repoTags, diffIds: image.diffIds, architecture: 'amd64', os: 'linux', variant: undefined, size });
  }

  async historySizes(reference: string): Promise<number[]> {
    const image = this.resolve(reference);
    if (image === undefined) throw new ImageNotFoundError(`no image ${reference}`);
    if (this.faults.refuseHistory === true) throw new EngineRequestError(`The engine answered 500 when asked for the history of '${reference}': runtime error: invalid memory address or nil pointer dereference.`);
    return await Promise.resolve(image.history);
  }

  async listImageIds(): Promise<string[]> {
    return await Promise.resolve([...this.images.keys()]);
  }

  async usesContainerdStore(): Promise<boolean> {
    return await Promise.resolve(false);
  }

  /** docker save's legacy layout: <id>/layer.tar, <id>/json, the config, manifest.json last. */
  async saveImages(references: readonly string[], signal?: AbortSignal): Promise<BorrowedChunks> {
    this.calls.push({ call: 'save', references: [...references] });
    this.faults.onSave?.(references);
    if (this.faults.refuseSave?.(references) === true) throw new EngineRequestError('The engine could not export it (500): no space left on device.');
    const images = references.map((reference) => {
      const image = this.resolve(reference);
      if (image === undefined) throw new ImageNotFoundError(`The engine at ${this.endpoint} has no image ${reference}.`);
      return { reference, image };
    });
    const files: TarFile[] = [];
    const written = new Set<string>();
    const manifest = images.map(({ reference, image }) => {
      const chains = chainIds(image.diffIds);
      const paths = chains.map((chain, i) => {
        const dir = digestHex(chain as `sha256:${string}`);
        if (!written.has(dir)) {
          written.add(dir);
          const json = Buffer.from(JSON.stringify(i === 0 ? { id: dir } : { id: dir, parent: digestHex(chains[i - 1] as `sha256:${string}`) }));
          const tar = this.layers.get(image.diffIds[i]!)!;
          files.push({ name: `${dir}/json`, size: json.length, content: () => [json] }, { name: `${dir}/layer.tar`, size: tar.length, content: () => [tar] });
        }
        return `${dir}/layer.tar`;
      });
      const configName = `${digestHex(image.id as `sha256:${string}`)}.json`;
      if (!written.has(configName)) {
        written.add(configName);
        files.push({ name: configName, size: image.config.length, content: () => [image.config] });
      }
      const tags = reference.startsWith('sha256:') ? null : [normalTag(reference)];
      return { Config: configName, RepoTags: tags, Layers: paths };
    });
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    files.push({ name: 'manifest.json', size: manifestBytes.length, content: () => [manifestBytes] });
    return await Promise.resolve(lentChunks(writeTar(files), signal));
  }

  /** Loads docker save's layout, as a classic engine does; the messages name each image loaded. */
  async loadImages(archive: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<string[]> {
    const files = new Map<string, Buffer>();
    let bytes = 0;
    for await (const entry of readTar(counting(archive, (n) => {
      bytes += n;
      signal?.throwIfAborted();
      const limit = this.faults.breakLoadAfterBytes;
      if (limit !== undefined && bytes > limit) throw new EngineLoadError('The engine stopped while loading: connection reset.');
    }))) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry.body) chunks.push(Buffer.from(chunk));
      files.set(entry.header.name, Buffer.concat(chunks));
    }
    const manifest = JSON.parse((files.get('manifest.json') ?? Buffer.from('[]')).toString('utf8')) as Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }>;
    const messages: string[] = [];
    for (const entry of manifest) {
      const config = files.get(entry.Config);
      if (config === undefined) throw new EngineLoadError(`The engine refused the load (500): config ${entry.Config} is missing.`);
      const parsed = JSON.parse(config.toString('utf8')) as { rootfs: { diff_ids: string[] }; config?: { Labels?: Record<string, string> | null } };
      const label = this.faults.refuseLoadWithLabel;
      if (label !== undefined && entry.RepoTags === null && parsed.config?.Labels?.[label] !== undefined) {
        throw new EngineLoadError('The engine refused the load (500): not allowed here.');
      }
      const diffIds = parsed.rootfs.diff_ids;
      const held = new Set(this.heldChains());
      const chains = chainIds(diffIds);
      for (const [i, path] of entry.Layers.entries()) {
        if (held.has(chains[i]!)) continue;
        const tar = files.get(path);
        if (tar === undefined || tar.length === 0) throw new EngineLoadError(`The engine refused the load (500): layer ${path} is missing.`);
        if (sha256Digest(tar) !== diffIds[i]) throw new EngineLoadError(`The engine refused the load (500): invalid diffID for layer ${i}: expected ${diffIds[i]}, got ${sha256Digest(tar)}.`);
        this.layers.set(diffIds[i], tar);
      }
      const id = this.register(config, diffIds.map((d) => this.layers.get(d)!.length), entry.RepoTags?.[0]);
      this.calls.push({ call: 'load', images: [id] });
      messages.push(`Loaded image ID: ${id}`);
    }
    return messages;
  }

  private heldChains(): string[] {
    return [...this.images.values()].flatMap((image) => chainIds(image.diffIds));
  }

  async tagImage(id: string, repository: string, tag: string): Promise<void> {
    if (!this.images.has(id)) throw new ImageNotFoundError(`No such image: ${id}`);
    this.calls.push({ call: 'tag', id, tag: `${repository}:${tag}` });
    this.tags.set(normalTag(`${repository}:${tag}`), id);
    return await Promise.resolve();
  }

  async removeImage(id: string): Promise<boolean> {
    const tagged = [...this.tags.values()].includes(id);
    if (tagged || !this.images.has(id)) return await Promise.resolve(false);
    this.calls.push({ call: 'remove', id });
    this.images.delete(id);
    return await Promise.resolve(true);
  }

  /** Images carrying handover's helper label: what a flow must leave none of. */
  helperImages(): string[] {
    return [...this.images.values()].filter((image) => image.labels['io.github.image-handover.partial-of'] !== undefined).map((image) => image.id);
  }
}

function normalTag(reference: string): string {
  return reference.includes(':') ? reference : `${reference}:latest`;
}

async function* counting(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/** Hands a stream on through one reused buffer, as the real engine client does. */
async function* lentChunks(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): BorrowedChunks {
  const buffer = Buffer.alloc(CHUNK);
  for await (const chunk of source) {
    for (let offset = 0; offset < chunk.length; offset += CHUNK) {
      signal?.throwIfAborted();
      const part = chunk.subarray(offset, offset + CHUNK);
      buffer.set(part);
      yield lend(buffer.subarray(0, part.length));
      buffer.fill(0xee); // what a consumer that kept the chunk would now see
    }
  }
}
