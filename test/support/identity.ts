import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { docker, imageId } from './docker.ts';
import type { EngineKind, RunningKind } from './engine-kinds.ts';

const exec = promisify(execFile);

/**
 * What "the same image" is between two engines (issue 12): the id each
 * engine gives it, the config digest and the diff ids. Classic stores and
 * Podman name an image by its config digest; containerd's store by the
 * digest of the manifest (or index) it was loaded from, so its config
 * digest is read from containerd's content store.
 */
export interface ImageIdentity {
  /** The engine's image id (`docker image inspect`'s `Id`). */
  id: string;
  configDigest: string;
  diffIds: string[];
}

interface ContentDocument {
  mediaType?: string;
  config?: { digest: string };
  manifests?: Array<{ digest: string; platform?: { os: string; architecture: string } }>;
}

/** The containerd that a 28-containerd dockerd started, by the socket path scripts/engines.sh gives it. */
async function containerdContent(engines: RunningKind, dockerHost: string, digest: string): Promise<ContentDocument> {
  const engineDir = dirname(dockerHost.replace(/^unix:\/\//, ''));
  const ctr = join(dirname(engines.cli.docker), 'ctr');
  const { stdout } = await exec(ctr, ['--address', join(engineDir, 'exec', 'containerd', 'containerd.sock'), '-n', 'moby', 'content', 'get', digest], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as ContentDocument;
}

/** The config digest of a containerd-store image: its manifest's, or its linux/amd64 manifest's when the id is an index. */
async function containerdConfigDigest(engines: RunningKind, dockerHost: string, id: string): Promise<string> {
  let document = await containerdContent(engines, dockerHost, id);
  if (document.manifests !== undefined) {
    const amd64 = document.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
    if (amd64 === undefined) throw new Error(`index ${id} has no linux/amd64 manifest`);
    document = await containerdContent(engines, dockerHost, amd64.digest);
  }
  if (document.config === undefined) throw new Error(`${id} is neither a manifest nor an index`);
  return document.config.digest;
}

/** The identity of `reference` on an engine of this kind, or undefined when the engine has no such image. */
export async function identityOf(engines: RunningKind, dockerHost: string, reference: string): Promise<ImageIdentity | undefined> {
  const id = await imageId(dockerHost, reference);
  if (id === undefined) return undefined;
  const diffIds = JSON.parse(await docker(dockerHost, 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', reference)) as string[];
  const configDigest = engines.kind === '28-containerd' ? await containerdConfigDigest(engines, dockerHost, id) : id;
  return { id, configDigest, diffIds };
}

export interface HandedOver {
  producer: { engines: RunningKind; host: string; reference: string };
  consumer: { engines: RunningKind; host: string; reference: string };
  /** The config digest export recorded (its `imageId`). */
  exportedConfigDigest: string;
  /** The image id `load --json` reported. */
  loadedId: string;
  /**
   * What the bundle names the image by (export's `manifestDigest`: its
   * manifest, or its index): the id a consumer on containerd's store gives
   * it. Export keeps the producer's own when the layers arrived compressed
   * and passed through; when it compressed them, the manifest is its own.
   */
  bundleImageDigest?: string;
}

/** True when both kinds keep images in containerd's store, where the very image id travels. */
export function bothOnContainerd(producer: EngineKind, consumer: EngineKind): boolean {
  return producer === '28-containerd' && consumer === '28-containerd';
}

/**
 * Issue 12's expectations of a handover: load reports the id the consumer's
 * engine gave the image; the config digest (the one export recorded) and
 * the diff ids are the producer's; a classic or Podman consumer names it by
 * that config digest, one on containerd's store by what the bundle names it;
 * and where both engines use containerd's store and the bundle kept the
 * producer's manifest, the image id is the producer's very id.
 */
export async function expectSameImage(handover: HandedOver): Promise<void> {
  const { producer, consumer } = handover;
  const made = await identityOf(producer.engines, producer.host, producer.reference);
  const held = await identityOf(consumer.engines, consumer.host, consumer.reference);
  const pair = `${producer.engines.kind} -> ${consumer.engines.kind}`;
  expect(made, `${pair}: the producer holds ${producer.reference}`).toBeDefined();
  expect(held, `${pair}: the consumer holds ${consumer.reference}`).toBeDefined();
  expect(handover.loadedId, `${pair}: load reports the id the consumer's engine gave the image`).toBe(held!.id);
  expect(held!.configDigest, `${pair}: config digest`).toBe(made!.configDigest);
  expect(made!.configDigest, `${pair}: export recorded the producer's config digest`).toBe(handover.exportedConfigDigest);
  expect(held!.diffIds, `${pair}: diff ids`).toEqual(made!.diffIds);
  if (consumer.engines.kind !== '28-containerd') {
    expect(held!.id, `${pair}: a classic or Podman consumer names the image by its config digest`).toBe(made!.configDigest);
    return;
  }
  if (handover.bundleImageDigest !== undefined) expect(held!.id, `${pair}: containerd's store names the image by what the bundle names it`).toBe(handover.bundleImageDigest);
  // Both on containerd's store, and the bundle kept the producer's manifest (or index): the very image id.
  if (bothOnContainerd(producer.engines.kind, consumer.engines.kind) && (handover.bundleImageDigest === undefined || handover.bundleImageDigest === made!.id)) {
    expect(held!.id, `${pair}: both on containerd's store: the producer's image id`).toBe(made!.id);
  }
}
