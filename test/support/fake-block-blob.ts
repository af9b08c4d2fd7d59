import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ArchiveUpload } from '../../src/store/github/archive-upload.ts';
import type { BlockBlobUploadOptions } from '../../src/store/github/blob-storage/block-blob-upload.ts';
import type { ArtifactServiceClient } from '../../src/store/github/service/artifact-service-client.ts';

/** One request the fake storage answered, in the order they arrived. */
export interface BlockRequest {
  comp: 'block' | 'blocklist';
  /** The block's id (Put Block). */
  id: string | undefined;
  /** Body bytes (Put Block: the block). */
  size: number;
  /** The block's first 2 KiB, to tell a tar header (after the padding before it) from data. */
  head: Buffer;
}

/**
 * Blob storage for one block blob, in memory, as Azure keeps it: Put Block
 * stores a block under its id in any order, uncommitted; Put Block List
 * makes the blob the listed blocks in the listed order. Put Block answers
 * can be held back (a network that takes nothing) and refused.
 */
export class FakeBlockBlob {
  readonly requests: BlockRequest[] = [];
  readonly uncommitted = new Map<string, Buffer>();
  /** The blob, once a block list was committed. */
  committed: Buffer | undefined;
  /** The committed list's block sizes, in order. */
  committedBlocks: number[] = [];
  private server: Server | undefined;
  private holding = false;
  private readonly held: Array<() => void> = [];
  private refusals: number[] = [];
  private readonly watchers: Array<{ blocks: number; resolve: () => void }> = [];

  /** Listens on a loopback port; resolves with the blob's signed URL. */
  async listen(): Promise<string> {
    const server = createServer((request, response) => void this.answer(request, response));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/artifacts/blob?sig=fake`;
  }

  async close(): Promise<void> {
    this.release();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops answering Put Block until release (the bodies are received). */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }

  /** Answers the `nth` Put Block from now (1 = the next) with 403: a refusal no retry changes. */
  refuseBlock(nth: number): void {
    this.refusals.push(this.blockCount() + nth);
  }

  /** Resolves once this many Put Block requests have arrived. */
  blocksReceived(blocks: number): Promise<void> {
    if (this.blockCount() >= blocks) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ blocks, resolve }));
  }

  private blockCount(): number {
    return this.requests.filter((r) => r.comp === 'block').length;
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const comp = url.searchParams.get('comp');
    if (request.method !== 'PUT' || (comp !== 'block' && comp !== 'blocklist')) {
      response.writeHead(400).end();
      return;
    }
    const id = url.searchParams.get('blockid') ?? undefined;
    this.requests.push({ comp, id, size: body.length, head: body.subarray(0, 2048) });
    if (comp === 'block') {
      const count = this.blockCount();
      for (const watcher of this.watchers.filter((w) => count >= w.blocks)) {
        this.watchers.splice(this.watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
      if (this.refusals.includes(count)) {
        response.writeHead(403, { 'x-ms-error-code': 'AuthorizationFailure' }).end();
        return;
      }
      const store = (): void => {
        this.uncommitted.set(id!, body);
        response.writeHead(201).end();
      };
      if (this.holding) this.held.push(store);
      else store();
      return;
    }
    const ids = [...body.toString('utf8').matchAll(/<Latest>([^<]*)<\/Latest>/g)].map((m) => m[1]!);
    const blocks = ids.map((listed) => this.uncommitted.get(listed));
    if (blocks.some((block) => block === undefined)) {
      response.writeHead(400, { 'x-ms-error-code': 'InvalidBlockList' }).end();
      return;
    }
    this.committed = Buffer.concat(blocks as Buffer[]);
    this.committedBlocks = (blocks as Buffer[]).map((block) => block.length);
    response.writeHead(201).end();
  }
}

/** What FinalizeArtifact was told. */
export interface Finalized {
  size: number;
  sha256: string;
}

/**
 * An ArchiveUpload into a FakeBlockBlob, through a stand-in for the artifact
 * service (no artifact to replace; create answers the fake blob's URL).
 */
export async function fakeArchiveUpload(
  blob: FakeBlockBlob,
  options: Omit<BlockBlobUploadOptions, 'contentType'> = {},
): Promise<{ upload: ArchiveUpload; finalized: Finalized[] }> {
  const url = await blob.listen();
  const finalized: Finalized[] = [];
  const client = {
    listArtifacts: () => Promise.resolve([]),
    deleteArtifact: () => Promise.reject(new Error('nothing to delete')),
    createArtifact: () => Promise.resolve(url),
    finalizeArtifact: (request: Finalized) => {
      finalized.push({ size: request.size, sha256: request.sha256 });
      return Promise.resolve(7);
    },
  } as unknown as ArtifactServiceClient;
  const upload = await ArchiveUpload.start({ client, name: 'docker-image', blob: { retry: { maxAttempts: 2, initialDelayMs: 1, multiplier: 2, maxDelayMs: 2 }, ...options } });
  return { upload, finalized };
}
