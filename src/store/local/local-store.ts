import { link, lstat, mkdir, readFile, readdir, readlink, rename, rm, stat, symlink, writeFile, copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OCI_LAYOUT_CONTENT } from '../../bundle/build.ts';
import { referencedBlobs } from '../../bundle/references.ts';
import { digestHex, isDigest, sha256Digest, type Digest } from '../../digest/digest.ts';
import { BundleNotFoundError, StoreIOError, StoreNotFoundError, storeIOError } from '../../errors.ts';
import { parseBundleName } from '../bundle-name.ts';
import { BLOBS_DIR, BlobDirectory, temporaryName, pathExists } from '../layout/blob-directory.ts';
import { INDEX_FILE, LayoutSource, OCI_LAYOUT_FILE } from '../layout/layout-source.ts';
import { reclaimAbandoned } from './reclaim.ts';
import { LayoutBundleWriter } from '../layout/layout-writer.ts';
import type { BundleListing, BundleSource, BundleWriter, PublishedBundle, Store } from '../store.ts';

const NAMES_DIR = 'names';
const BUNDLES_DIR = 'bundles';
const TMP_DIR = 'tmp';

/**
 * A store in a local directory:
 *   blobs/sha256/<hex>          every blob once, shared by all bundles
 *   bundles/<hex>/              one immutable OCI image layout per bundle digest,
 *                               its blobs hard links to the shared ones
 *   names/<name> -> ../bundles/<hex>   replaced atomically by rename
 * A reader resolves a name once and then reads an immutable directory, so it
 * sees a whole bundle or none, even while the name is being replaced.
 */
export class LocalStore implements Store {
  readonly kind = 'local';
  readonly location: string;
  private readonly blobs: BlobDirectory;

  constructor(root: string) {
    this.location = resolve(root);
    this.blobs = new BlobDirectory(this.location, join(this.location, TMP_DIR));
  }

  async createBundle(name: string): Promise<BundleWriter> {
    const bundleName = parseBundleName(name);
    await this.ensureDirectory();
    await this.blobs.ensure();
    try {
      for (const dir of [NAMES_DIR, BUNDLES_DIR]) await mkdir(join(this.location, dir), { recursive: true });
    } catch (error) {
      throw storeIOError('creating', this.location, error);
    }
    // Writers killed mid-export leave temporaries behind; each new writer reclaims them.
    await reclaimAbandoned(join(this.location, TMP_DIR), join(this.location, NAMES_DIR));
    return new LayoutBundleWriter(this.blobs, {
      publish: async (index) => await this.publish(bundleName, index),
      // Blobs are content-addressed and whole; an unpublished bundle leaves
      // nothing a reader can reach. Unreferenced blobs are reclaimed by gc.
      discard: () => Promise.resolve(),
    });
  }

  async openBundle(name: string): Promise<BundleSource> {
    const bundleName = parseBundleName(name);
    await this.requireExisting();
    const digest = await this.resolveName(bundleName);
    if (digest === undefined) {
      const names = (await this.list()).map((b) => b.name);
      throw new BundleNotFoundError(`No bundle named '${bundleName}' in the store at ${this.location}.`, {
        hint: names.length === 0 ? 'The store is empty: run handover export first, with the same --store.' : `The store has: ${names.join(', ')}.`,
        details: { name: bundleName, available: names },
      });
    }
    return new LayoutSource(bundleName, this.bundleDirectory(digest));
  }

  async list(): Promise<BundleListing[]> {
    await this.requireExisting();
    let names: string[];
    try {
      names = await readdir(join(this.location, NAMES_DIR));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw storeIOError('listing', this.location, error);
    }
    const listings: BundleListing[] = [];
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const digest = await this.resolveName(name);
      if (digest === undefined) continue;
      const { mtime } = await lstat(join(this.location, NAMES_DIR, name));
      listings.push({ name, digest, updatedAt: mtime, location: this.bundleDirectory(digest) });
    }
    return listings;
  }

  bundleDirectory(digest: Digest): string {
    return join(this.location, BUNDLES_DIR, digestHex(digest));
  }

  private async publish(name: string, index: Uint8Array): Promise<PublishedBundle> {
    const digest = sha256Digest(index);
    const target = this.bundleDirectory(digest);
    try {
      if (!(await pathExists(target))) await this.writeBundleDirectory(target, index);
      await this.pointName(name, digest);
    } catch (error) {
      throw storeIOError('publishing bundle', `'${name}' in ${this.location}`, error);
    }
    return { name, digest, location: target, details: { store: this.location } };
  }

  private async writeBundleDirectory(target: string, index: Uint8Array): Promise<void> {
    const staging = join(this.location, TMP_DIR, temporaryName('bundle'));
    try {
      await mkdir(join(staging, BLOBS_DIR), { recursive: true });
      const blobs = await referencedBlobs(index, async (digest) => await readFile(this.blobs.path(digest)).catch(absentAsUndefined));
      for (const digest of blobs) await linkOrCopy(this.blobs.path(digest), join(staging, BLOBS_DIR, digestHex(digest)));
      await writeFile(join(staging, OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT);
      await writeFile(join(staging, INDEX_FILE), index);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // Another writer published the same bundle digest first: identical content.
      if (['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '') && (await pathExists(target))) return;
      throw error;
    }
  }

  private async pointName(name: string, digest: Digest): Promise<void> {
    const pointer = join(this.location, NAMES_DIR, `.${temporaryName(name)}`);
    await symlink(join('..', BUNDLES_DIR, digestHex(digest)), pointer);
    try {
      await rename(pointer, join(this.location, NAMES_DIR, name));
    } catch (error) {
      await rm(pointer, { force: true });
      throw error;
    }
  }

  private async resolveName(name: string): Promise<Digest | undefined> {
    let target: string;
    try {
      target = await readlink(join(this.location, NAMES_DIR, name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'EINVAL') throw new StoreIOError(`The store entry for '${name}' is not a bundle link (${join(this.location, NAMES_DIR, name)}).`);
      throw storeIOError('reading', join(this.location, NAMES_DIR, name), error);
    }
    const match = /^\.\.\/bundles\/([0-9a-f]{64})$/.exec(target);
    const digest = match === null ? undefined : `sha256:${match[1]}`;
    if (!isDigest(digest)) {
      throw new StoreIOError(`The store entry for '${name}' points outside the store's bundles (${target}).`, {
        hint: 'Remove it and export the bundle again.',
      });
    }
    return digest;
  }

  private async ensureDirectory(): Promise<void> {
    try {
      await mkdir(this.location, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') throw notADirectory(this.location);
      throw storeIOError('creating the store', this.location, error);
    }
    await this.requireExisting();
  }

  private async requireExisting(): Promise<void> {
    let stats;
    try {
      stats = await stat(this.location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new StoreNotFoundError(`No store at ${this.location}.`, {
          hint: 'Check --store (or HANDOVER_STORE); handover export creates the store on first use.',
          details: { store: this.location },
        });
      }
      throw storeIOError('opening the store', this.location, error);
    }
    if (!stats.isDirectory()) throw notADirectory(this.location);
  }
}

/** A file that is not there reads as undefined; other failures stay failures. */
function absentAsUndefined(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}

function notADirectory(path: string): StoreNotFoundError {
  return new StoreNotFoundError(`The store path ${path} is a file, not a directory.`, {
    hint: 'Point --store (or HANDOVER_STORE) at a directory.',
  });
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    // File systems without hard links still get a whole bundle, at the cost of a copy.
    if (!['EPERM', 'EXDEV', 'ENOTSUP', 'EMLINK'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await copyFile(from, to);
  }
}
