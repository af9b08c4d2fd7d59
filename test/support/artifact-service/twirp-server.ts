import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  SASProtocol,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from './azurite.ts';
import { verifyRuntimeToken, type BackendIds } from './runtime-token.ts';

/**
 * The Results service's ArtifactService, as @actions/artifact (v2+ protocol,
 * artifact version 4..7) speaks it: Twirp, JSON bodies with proto field names,
 * int64 as strings, wrappers as bare values, timestamps as RFC 3339.
 * Blobs live in Azurite; the service hands out SAS URLs as the real one does.
 */
export const SERVICE_PATH = '/twirp/github.actions.results.api.v1.ArtifactService/';
const CONTAINER = 'actions-results';

export interface StoredArtifact {
  id: number;
  runId: string;
  jobId: string;
  name: string;
  blobName: string;
  mimeType: string | undefined;
  version: number;
  createdAt: Date;
  expiresAt: Date | undefined;
  finalized: boolean;
  size: number;
  digest: string | undefined;
}

export interface RecordedCall {
  method: string;
  status: number;
  request: Record<string, unknown>;
  caller: BackendIds | undefined;
}

/** A failure to answer the next call of a method with (Twirp error codes), or a dropped connection. */
export type InjectedFailure =
  | { status: number; code: string; msg: string; retryAfterSeconds?: number }
  | { drop: true };

/**
 * What the real service answers CreateArtifact when the account's artifact
 * storage quota is used up: 403 with a message that contains 'insufficient
 * usage' (actions/toolkit packages/artifact __tests__/artifact-http-client.test.ts,
 * 'should properly describe a usage error'; lib/internal/shared/errors.js).
 */
export const QUOTA_EXCEEDED: InjectedFailure = { status: 403, code: 'permission_denied', msg: 'insufficient usage to create artifact' };

class TwirpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, code: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

class DroppedConnection extends Error {}

type Json = Record<string, unknown>;

function str(body: Json, field: string): string {
  const value = body[field];
  return typeof value === 'string' ? value : '';
}

function requireField(body: Json, field: string): string {
  const value = str(body, field);
  if (value === '') throw new TwirpError(400, 'invalid_argument', `${field} is required`);
  return value;
}

export class ArtifactTwirpService {
  private readonly artifacts: StoredArtifact[] = [];
  private readonly calls: RecordedCall[] = [];
  private readonly failures = new Map<string, InjectedFailure[]>();
  private nextId = 1;
  private server: Server | undefined;
  private readonly credential = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY);
  private readonly container: ContainerClient;

  private readonly tokenSecret: Buffer;
  /** GITHUB_RUN_ID -> the run's backend id, for the REST API's view of runs. */
  private readonly runs = new Map<string, string>();
  /** The token the REST API accepts (a GITHUB_TOKEN with actions:read). */
  readonly apiToken: string;

  /** The origin runners reach blob storage at (the test link in front of Azurite), when not Azurite's own. */
  private readonly publicBlobOrigin: string | undefined;
  /** Each job's own link to storage (a runner's network), when it has one. */
  private readonly jobOrigins = new Map<string, string>();

  constructor(blobEndpoint: string, tokenSecret: Buffer, options: { publicBlobOrigin?: string | undefined } = {}) {
    this.publicBlobOrigin = options.publicBlobOrigin;
    this.tokenSecret = tokenSecret;
    this.apiToken = `ghs_${tokenSecret.subarray(0, 12).toString('hex')}`;
    this.container = new BlobServiceClient(blobEndpoint, this.credential).getContainerClient(CONTAINER);
  }

  /** Listens on a free loopback port; returns the service's base URL (ACTIONS_RESULTS_URL). */
  async listen(): Promise<string> {
    await this.container.createIfNotExists();
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Every artifact the service holds, finalized or not (copies). */
  list(): StoredArtifact[] {
    return this.artifacts.map((a) => ({ ...a }));
  }

  /** Every call answered so far, in order. */
  recordedCalls(): RecordedCall[] {
    return [...this.calls];
  }

  /** Signed URLs handed to this job point at this origin (its own link) instead of the shared one. */
  setJobOrigin(jobId: string, origin: string): void {
    this.jobOrigins.set(jobId, origin);
  }

  /** Makes a workflow run known to the REST API under its GITHUB_RUN_ID. */
  registerRun(runId: string, runBackendId: string): void {
    this.runs.set(runId, runBackendId);
  }

  /** Makes the next call of `method` fail with the given Twirp error. */
  injectFailure(method: string, failure: InjectedFailure): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(failure);
    this.failures.set(method, queue);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.url?.startsWith('/repos/') === true) {
      this.handleRest(request, response);
      return;
    }
    const method = request.url?.startsWith(SERVICE_PATH) ? request.url.slice(SERVICE_PATH.length) : '';
    let body: Json = {};
    let caller: BackendIds | undefined;
    try {
      if (request.method !== 'POST') throw new TwirpError(404, 'bad_route', `no handler for ${request.method} ${request.url}`);
      const raw = await readBody(request);
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim();
      if (contentType !== 'application/json') {
        throw new TwirpError(400, 'malformed', `unsupported Content-Type '${contentType}': this service speaks Twirp JSON`);
      }
      try {
        body = JSON.parse(raw.toString('utf8') || '{}') as Json;
      } catch {
        throw new TwirpError(400, 'malformed', 'the request body is not JSON');
      }
      caller = this.authenticate(request);
      const injected = this.failures.get(method)?.shift();
      if (injected !== undefined && 'drop' in injected) throw new DroppedConnection();
      if (injected !== undefined) throw new TwirpError(injected.status, injected.code, injected.msg, injected.retryAfterSeconds);
      const result = await this.dispatch(method, body, caller);
      this.calls.push({ method, status: 200, request: body, caller });
      send(response, 200, result);
    } catch (error) {
      if (error instanceof DroppedConnection) {
        this.calls.push({ method, status: 0, request: body, caller });
        request.socket.destroy();
        return;
      }
      const twirp = error instanceof TwirpError ? error : new TwirpError(500, 'internal', String(error));
      this.calls.push({ method, status: twirp.status, request: body, caller });
      send(response, twirp.status, { code: twirp.code, msg: twirp.message }, twirp.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(twirp.retryAfterSeconds) });
    }
  }

  /**
   * The two REST endpoints @actions/artifact uses to read another run's
   * artifacts (findBy): list a run's artifacts, and the zip download, which
   * answers 302 to a signed blob URL.
   */
  private handleRest(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const reply = (status: number, body: Json, headers: Record<string, string> = {}): void => {
      this.calls.push({ method: `REST ${request.method} ${url.pathname}`, status, request: Object.fromEntries(url.searchParams), caller: undefined });
      const text = JSON.stringify(body);
      response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
      response.end(text);
    };
    const auth = request.headers.authorization ?? '';
    if (auth !== `token ${this.apiToken}` && auth !== `Bearer ${this.apiToken}`) {
      reply(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const list = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/artifacts$/.exec(url.pathname);
    if (request.method === 'GET' && list !== null) {
      const backendId = this.runs.get(list[1]!);
      if (backendId === undefined) {
        reply(404, { message: 'Not Found' });
        return;
      }
      const name = url.searchParams.get('name');
      const found = this.live().filter((a) => a.runId === backendId && a.finalized && (name === null || a.name === name));
      reply(200, {
        total_count: found.length,
        artifacts: found.map((a) => ({
          id: a.id,
          name: a.name,
          size_in_bytes: a.size,
          created_at: a.createdAt.toISOString(),
          expired: false,
          ...(a.digest === undefined ? {} : { digest: a.digest }),
        })),
      });
      return;
    }
    const zip = /^\/repos\/[^/]+\/[^/]+\/actions\/artifacts\/(\d+)\/zip$/.exec(url.pathname);
    if (request.method === 'GET' && zip !== null) {
      const artifact = this.live().find((a) => String(a.id) === zip[1] && a.finalized);
      if (artifact === undefined) {
        reply(404, { message: 'Not Found' });
        return;
      }
      reply(302, {}, { Location: this.downloadUrl(artifact) });
      return;
    }
    reply(404, { message: 'Not Found' });
  }

  private authenticate(request: IncomingMessage): BackendIds {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (match?.[1] === undefined) throw new TwirpError(401, 'unauthenticated', 'missing bearer token');
    const ids = verifyRuntimeToken(match[1], this.tokenSecret);
    if (ids === undefined) throw new TwirpError(401, 'unauthenticated', 'invalid or expired runtime token');
    return ids;
  }

  private dispatch(method: string, body: Json, caller: BackendIds): Promise<Json> {
    switch (method) {
      case 'CreateArtifact':
        return Promise.resolve(this.createArtifact(body, caller));
      case 'FinalizeArtifact':
        return this.finalizeArtifact(body, caller);
      case 'ListArtifacts':
        return Promise.resolve(this.listArtifacts(body, caller));
      case 'GetSignedArtifactURL':
        return Promise.resolve(this.getSignedArtifactURL(body, caller));
      case 'DeleteArtifact':
        return this.deleteArtifact(body, caller);
      default:
        return Promise.reject(new TwirpError(404, 'bad_route', `no handler for method '${method}'`));
    }
  }

  /** A job may only act within its own run; writes only as itself. */
  private checkScope(body: Json, caller: BackendIds, asJob: boolean): { runId: string; jobId: string } {
    const runId = requireField(body, 'workflow_run_backend_id');
    const jobId = requireField(body, 'workflow_job_run_backend_id');
    if (runId !== caller.runId || (asJob && jobId !== caller.jobId)) {
      throw new TwirpError(403, 'permission_denied', 'the runtime token does not grant access to this workflow run or job');
    }
    return { runId, jobId };
  }

  private live(): StoredArtifact[] {
    const now = Date.now();
    return this.artifacts.filter((a) => a.expiresAt === undefined || a.expiresAt.getTime() > now);
  }

  private createArtifact(body: Json, caller: BackendIds): Json {
    const { runId, jobId } = this.checkScope(body, caller, true);
    const name = requireField(body, 'name');
    const version = typeof body['version'] === 'number' ? body['version'] : 0;
    if (version < 4) throw new TwirpError(400, 'invalid_argument', `unsupported artifact version ${version}`);
    if (this.live().some((a) => a.runId === runId && a.name === name && a.finalized)) {
      throw new TwirpError(409, 'already_exists', 'an artifact with this name already exists on the workflow run');
    }
    // An upload that never finalized is not an artifact yet: a new one replaces it.
    for (let i = this.artifacts.length - 1; i >= 0; i--) {
      const stale = this.artifacts[i]!;
      if (stale.runId === runId && stale.name === name && !stale.finalized) this.artifacts.splice(i, 1);
    }
    const expires = str(body, 'expires_at');
    const mimeType = str(body, 'mime_type') || undefined;
    const id = this.nextId++;
    const extension = mimeType === 'application/zip' || mimeType === undefined ? '.zip' : '';
    const artifact: StoredArtifact = {
      id,
      runId,
      jobId,
      name,
      blobName: `${runId}/${jobId}/${id}/${encodeURIComponent(name)}${extension}`,
      mimeType,
      version,
      createdAt: new Date(),
      expiresAt: expires === '' ? undefined : new Date(expires),
      finalized: false,
      size: 0,
      digest: undefined,
    };
    this.artifacts.push(artifact);
    return { ok: true, signed_upload_url: this.sasUrl(artifact.blobName, 'cw', {}, caller) };
  }

  private async finalizeArtifact(body: Json, caller: BackendIds): Promise<Json> {
    const { runId, jobId } = this.checkScope(body, caller, true);
    const name = requireField(body, 'name');
    const artifact = this.live().find((a) => a.runId === runId && a.jobId === jobId && a.name === name && !a.finalized);
    if (artifact === undefined) throw new TwirpError(404, 'not_found', `no pending artifact named '${name}' for this job`);
    const size = Number(str(body, 'size') || body['size'] || 0);
    let stored: number;
    try {
      stored = (await this.container.getBlobClient(artifact.blobName).getProperties()).contentLength ?? 0;
    } catch {
      throw new TwirpError(400, 'failed_precondition', `artifact '${name}' has no uploaded content`);
    }
    if (stored !== size) {
      throw new TwirpError(400, 'failed_precondition', `artifact '${name}': finalize size ${size} differs from uploaded ${stored}`);
    }
    artifact.finalized = true;
    artifact.size = size;
    artifact.digest = str(body, 'hash') || undefined;
    return { ok: true, artifact_id: String(artifact.id) };
  }

  private listArtifacts(body: Json, caller: BackendIds): Json {
    const { runId } = this.checkScope(body, caller, false);
    const nameFilter = body['name_filter'];
    const idFilter = body['id_filter'];
    const found = this.live().filter(
      (a) =>
        a.runId === runId &&
        a.finalized &&
        (typeof nameFilter !== 'string' || a.name === nameFilter) &&
        (idFilter === undefined || String(a.id) === String(idFilter as string | number)),
    );
    return {
      artifacts: found.map((a) => ({
        workflow_run_backend_id: a.runId,
        workflow_job_run_backend_id: a.jobId,
        database_id: String(a.id),
        name: a.name,
        size: String(a.size),
        created_at: a.createdAt.toISOString(),
        ...(a.digest === undefined ? {} : { digest: a.digest }),
      })),
    };
  }

  private getSignedArtifactURL(body: Json, caller: BackendIds): Json {
    const runId = requireField(body, 'workflow_run_backend_id');
    if (runId !== caller.runId) throw new TwirpError(403, 'permission_denied', 'the runtime token does not grant access to this workflow run');
    const jobId = requireField(body, 'workflow_job_run_backend_id');
    const name = requireField(body, 'name');
    const artifact = this.live().find((a) => a.runId === runId && a.jobId === jobId && a.name === name && a.finalized);
    if (artifact === undefined) throw new TwirpError(404, 'not_found', `artifact '${name}' not found`);
    return { signed_url: this.downloadUrl(artifact, caller) };
  }

  private async deleteArtifact(body: Json, caller: BackendIds): Promise<Json> {
    const { runId, jobId } = this.checkScope(body, caller, false);
    const name = requireField(body, 'name');
    const index = this.artifacts.findIndex((a) => a.runId === runId && a.jobId === jobId && a.name === name);
    const artifact = this.artifacts[index];
    if (artifact === undefined) throw new TwirpError(404, 'not_found', `artifact '${name}' not found`);
    this.artifacts.splice(index, 1);
    await this.container.getBlobClient(artifact.blobName).deleteIfExists();
    return { ok: true, artifact_id: String(artifact.id) };
  }

  /**
   * A read URL as the real service signs it: the response's Content-Type
   * and a Content-Disposition naming the file (the artifact's name, plus
   * .zip for a zip), which download-artifact uses to save a non-zip artifact.
   */
  private downloadUrl(artifact: StoredArtifact, caller?: BackendIds): string {
    const zip = artifact.mimeType === undefined || artifact.mimeType === 'application/zip';
    const fileName = `${artifact.name}${zip ? '.zip' : ''}`;
    return this.sasUrl(
      artifact.blobName,
      'r',
      {
        contentType: artifact.mimeType ?? 'application/zip',
        contentDisposition: `attachment; filename="${fileName.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(fileName)}`,
      },
      caller,
    );
  }

  private sasUrl(blobName: string, permissions: string, response: { contentType?: string; contentDisposition?: string } = {}, caller?: BackendIds): string {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: CONTAINER,
        blobName,
        permissions: BlobSASPermissions.parse(permissions),
        startsOn: new Date(Date.now() - 60_000),
        expiresOn: new Date(Date.now() + 3600_000),
        protocol: SASProtocol.HttpsAndHttp,
        ...response,
      },
      this.credential,
    ).toString();
    const url = new URL(this.container.getBlobClient(blobName).url);
    const origin = (caller === undefined ? undefined : this.jobOrigins.get(caller.jobId)) ?? this.publicBlobOrigin ?? url.origin;
    return `${origin}${url.pathname}?${sas}`;
  }

  /**
   * Replaces a finalized artifact's stored content in place (same blob, new
   * ETag), as corruption or tampering in storage would: `change` gets the
   * stored bytes and returns the new ones. The recorded size and digest stay.
   */
  async alterStoredContent(name: string, change: (stored: Buffer) => Buffer): Promise<void> {
    const artifact = this.live().find((a) => a.name === name && a.finalized);
    if (artifact === undefined) throw new Error(`no finalized artifact named '${name}'`);
    const blob = this.container.getBlockBlobClient(artifact.blobName);
    const stored = await blob.downloadToBuffer();
    const changed = change(stored);
    await blob.uploadData(changed, { blobHTTPHeaders: { blobContentType: artifact.mimeType ?? 'application/zip' } });
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  response.end(text);
}
