import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createZstdCompress } from 'node:zlib';
import { writeTar } from '../../src/archive/tar/tar-writer.ts';
import type { CliResult } from './cli.ts';
import { buildImage, docker, imageId } from './docker.ts';
import { sharedTestImages } from './images.ts';

const exec = promisify(execFile);

/** What a stored bundle's JSON documents hold, as far as the tests edit them. */
export interface DescriptorJson {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
export interface IndexJson {
  schemaVersion: number;
  manifests: DescriptorJson[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}
export interface ManifestJson {
  schemaVersion: number;
  config: DescriptorJson;
  layers: DescriptorJson[];
  [key: string]: unknown;
}
export interface ConfigJson {
  rootfs: { type: string; diff_ids: string[] };
  [key: string]: unknown;
}

export interface ErrorBody {
  code: string;
  exitStatus: number;
  message: string;
  hint?: string;
}

/** The error of a failed --json run. */
export function errorOf(result: CliResult): ErrorBody {
  try {
    return (JSON.parse(result.stdout) as { error: ErrorBody }).error;
  } catch {
    throw new Error(`expected a JSON error on stdout, got:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

// --- the CLI as a child process -----------------------------------------------

export interface RunningCli {
  child: ChildProcess;
  /** Settles when the process exits: its status (128 + n when killed by signal n) and output. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null; maxRssKb: number | undefined }>;
}

const MAX_RSS_MARK = 'handover-test-max-rss-kb=';

/**
 * Starts the built CLI (lib/, so run `npm run build` first) as its own
 * process, reporting its peak resident memory on exit: the CLI as
 * bin/handover.js runs it, plus one line on stderr.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const script = `import { run } from './lib/cli/process.js';
process.on('exit', () => process.stderr.write('\\n${MAX_RSS_MARK}' + process.resourceUsage().maxRSS + '\\n'));
process.exitCode = await run(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null; maxRssKb: number | undefined }>((resolve) => {
    child.once('close', (code, signal) => {
      const mark = new RegExp(`\\n${MAX_RSS_MARK}(\\d+)\\n`).exec(stderr);
      resolve({
        status: code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 0),
        signal,
        stdout,
        stderr: mark === null ? stderr : stderr.replace(mark[0], ''),
        maxRssKb: mark === null ? undefined : Number(mark[1]),
      });
    });
  });
  return { child, done };
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Awaited<RunningCli['done']>> {
  return await startCli(args, env).done;
}

/** Polls until `condition` holds, failing after `timeoutMs`. */
export async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Bytes in the files under a directory (0 when it does not exist). */
export async function bytesUnder(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    total += await lstat(join(entry.parentPath, entry.name)).then((s) => s.size, () => 0);
  }
  return total;
}

/** Entries of a directory, or none when it does not exist. */
export async function entriesOf(dir: string): Promise<string[]> {
  return await readdir(dir).catch(() => []);
}

// --- stores -------------------------------------------------------------------

export interface StoredBundle {
  dir: string;
  indexBytes: Buffer;
  index: IndexJson;
  manifest: ManifestJson;
  config: ConfigJson;
}

/** The bytes of a tar of the given files. */
export async function tarBytes(files: Record<string, string>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const entries = Object.entries(files).map(([name, text]) => {
    const bytes = Buffer.from(text);
    return { name, size: bytes.length, content: function* () { yield bytes; } };
  });
  for await (const chunk of writeTar(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a bundle's index, first manifest and its config as the local store keeps them. */
export async function readStoredBundle(store: string, name: string): Promise<StoredBundle> {
  const dir = join(store, 'names', await readlink(join(store, 'names', name)));
  const indexBytes = await readFile(join(dir, 'index.json'));
  const index = JSON.parse(indexBytes.toString()) as IndexJson;
  const blob = async (digest: string): Promise<unknown> => JSON.parse(await readFile(join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
  const manifest = (await blob(index.manifests[0]!.digest)) as ManifestJson;
  const config = (await blob(manifest.config.digest)) as ConfigJson;
  return { dir, indexBytes, index, manifest, config };
}

export interface Forgery {
  index: IndexJson;
  manifest: ManifestJson;
  config: ConfigJson;
  /** Adds a blob to the forged bundle; returns its descriptor fields. */
  addBlob: (bytes: Uint8Array) => Promise<{ digest: string; size: number }>;
}

export interface ForgeSteps {
  /** Edit the config and manifest; the manifest's config descriptor is then re-made from the config. */
  image?: (f: Forgery) => Promise<void> | void;
  /** Write these bytes as the config instead (the manifest still names them by digest and size). */
  configBytes?: (config: ConfigJson) => Buffer;
  /** Edit the index after the manifest descriptors (digest, size, image id) were re-made. */
  index?: (index: IndexJson) => void;
  /** Write these bytes as index.json instead. */
  indexBytes?: (index: IndexJson) => Buffer;
}

/**
 * Re-makes a stored bundle the way an attacker (or a broken tool) with write
 * access to the store would: edited config, manifest and index, each
 * self-consistent unless a step breaks it on purpose, published under the
 * same name. Returns the new bundle digest.
 */
export async function forgeBundle(store: string, name: string, steps: ForgeSteps): Promise<string> {
  const original = await readStoredBundle(store, name);
  const staging = await mkdtemp(join(store, 'tmp', 'forge-'));
  const blobs = join(staging, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const hex of await readdir(join(original.dir, 'blobs', 'sha256'))) await link(join(original.dir, 'blobs', 'sha256', hex), join(blobs, hex));
  const addBlob = async (bytes: Uint8Array): Promise<{ digest: string; size: number }> => {
    const hex = sha256Hex(bytes);
    await writeFile(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const forgery: Forgery = { index: original.index, manifest: original.manifest, config: original.config, addBlob };
  if (steps.image !== undefined || steps.configBytes !== undefined) {
    await steps.image?.(forgery);
    const config = await addBlob(steps.configBytes?.(forgery.config) ?? Buffer.from(JSON.stringify(forgery.config)));
    forgery.manifest.config = { ...forgery.manifest.config, ...config };
    const manifest = await addBlob(Buffer.from(JSON.stringify(forgery.manifest)));
    for (const descriptor of forgery.index.manifests) {
      Object.assign(descriptor, manifest);
      descriptor.annotations = { ...descriptor.annotations, 'io.github.image-handover.image.id': config.digest };
    }
  }
  steps.index?.(forgery.index);
  const indexBytes = steps.indexBytes?.(forgery.index) ?? Buffer.from(JSON.stringify(forgery.index));
  await writeFile(join(staging, 'index.json'), indexBytes);
  await writeFile(join(staging, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const hex = sha256Hex(indexBytes);
  await rm(join(store, 'bundles', hex), { recursive: true, force: true });
  await rename(staging, join(store, 'bundles', hex));
  const pointer = join(store, 'names', `.forge-${hex}`);
  await symlink(join('..', 'bundles', hex), pointer);
  await rename(pointer, join(store, 'names', name));
  return `sha256:${hex}`;
}

/**
 * A zstd frame of `bytes` zero bytes: a decompression bomb (about 1/30000 of
 * what it expands to). Returns the compressed bytes and the digest of what
 * they decompress to (a layer's diff id), without ever holding the zeros.
 */
export async function zeroBomb(bytes: number): Promise<{ compressed: Buffer; diffId: string }> {
  const zstd = createZstdCompress();
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  zstd.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve, reject) => zstd.once('end', resolve).once('error', reject));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < bytes; written += zeros.length) {
    const piece = zeros.subarray(0, Math.min(zeros.length, bytes - written));
    hash.update(piece);
    if (!zstd.write(piece)) await new Promise((resolve) => zstd.once('drain', resolve));
  }
  zstd.end();
  await ended;
  return { compressed: Buffer.concat(chunks), diffId: `sha256:${hash.digest('hex')}` };
}

// --- engines ------------------------------------------------------------------

/** Extra Docker Engines of a test's own (scripts/engines.sh), stopped by `stop`. */
export class ExtraEngines {
  readonly base: string;
  hosts: Record<string, string> = {};

  private constructor(base: string) {
    this.base = base;
  }

  static async start(...names: string[]): Promise<ExtraEngines> {
    // Short paths: dockerd's sockets must fit in 108 bytes.
    const engines = new ExtraEngines(await mkdtemp('/tmp/hof-'));
    await engines.startNamed(names);
    return engines;
  }

  async startNamed(names: string[]): Promise<void> {
    const { stdout } = await exec('bash', ['scripts/engines.sh', 'start', this.base, ...names], { timeout: 120_000 });
    for (const line of stdout.trim().split('\n')) {
      const [name, host] = line.split('=', 2) as [string, string];
      this.hosts[name] = host;
    }
  }

  /** The dockerd's own pid (not the launcher's). */
  async pid(name: string): Promise<number> {
    return Number((await readFile(join(this.base, name, 'd.pid'), 'utf8')).trim());
  }

  async kill(name: string): Promise<void> {
    const pid = await this.pid(name);
    process.kill(pid, 'SIGKILL');
    await waitFor(`dockerd ${name} to die`, () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  }

  async stop(): Promise<void> {
    await exec('bash', ['scripts/engines.sh', 'stop', this.base], { timeout: 120_000 }).catch(async () => {
      // A dockerd killed with SIGKILL leaves the bind mount of its data root behind.
      const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '');
      for (const mount of mounts.filter((m) => m.startsWith(`${this.base}/`)).reverse()) await exec('umount', ['-l', mount]).catch(() => undefined);
      await rm(this.base, { recursive: true, force: true });
    });
  }
}

/**
 * A byte-counting relay in front of an engine's socket: lets a test act at
 * a precise point of a load (after so many bytes went to the engine).
 */
export class CountingRelay {
  readonly socketPath: string;
  sent = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(socketPath: string, server: Server) {
    this.socketPath = socketPath;
    this.server = server;
  }

  static async start(upstream: string, socketPath: string): Promise<CountingRelay> {
    const server = createServer();
    const relay = new CountingRelay(socketPath, server);
    server.on('connection', (client) => {
      const engine = createConnection(upstream.replace(/^unix:\/\//, ''));
      relay.sockets.add(client).add(engine);
      client.on('data', (chunk: Buffer) => (relay.sent += chunk.length));
      // Either side closing (the engine killed) closes the other, as a broken connection would.
      const close = (): void => {
        client.destroy();
        engine.destroy();
      };
      pipeline(client, engine).then(close, close);
      pipeline(engine, client).then(close, close);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return relay;
  }

  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface FakeEngineRequest {
  method: string;
  url: string;
  bytes: number;
}

/**
 * A tiny stand-in for the Docker Engine API on a unix socket: answers
 * /version, knows no images, and answers a load with 200 and then, inside
 * its JSON stream, the error `loadError` (as a real engine does when its disk
 * is full or a layer is refused) — or, with `loadError` undefined, keeps
 * the load's answer open as an engine busy with a big archive does.
 */
export async function fakeEngine(socketPath: string, loadError: string | undefined): Promise<{ dockerHost: string; requests: FakeEngineRequest[]; close: () => Promise<void> }> {
  const { createServer: createHttpServer } = await import('node:http');
  const requests: FakeEngineRequest[] = [];
  const server = createHttpServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', bytes });
      const url = req.url ?? '';
      if (url.endsWith('/version')) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Version: '29.0.0-fake', ApiVersion: '1.52', Os: 'linux', Arch: 'amd64' }));
      } else if (url.startsWith('/images/load')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(`${JSON.stringify({ stream: 'Loading layer\n' })}\n`);
        if (loadError !== undefined) res.end(`${JSON.stringify({ errorDetail: { message: loadError }, error: loadError })}\n`);
      } else if (/^(\/v[\d.]+)?\/images\/json/.test(url)) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('[]');
      } else if (/^\/images\/[^/]+\/json/.test(url)) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: 'No such image' }));
      } else {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: `fake engine: ${req.method} ${url} not expected` }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    dockerHost: `unix://${socketPath}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An image big enough that exporting or loading it takes a second or more:
 * three layers of incompressible data (`megabytes` in all) on the busybox base.
 */
export async function buildBigImage(dockerHost: string, megabytes = 240, tag = 'handover-faults/big:1'): Promise<string> {
  const { base } = await sharedTestImages(dockerHost);
  const third = Math.ceil(megabytes / 3) * 1024 * 1024;
  await buildImage(dockerHost, tag, `FROM ${base}
RUN head -c ${third} /dev/urandom > /big.1
RUN head -c ${third} /dev/urandom > /big.2
RUN head -c ${third} /dev/urandom > /big.3
CMD ["/bin/sh", "-c", "ls /big.1 /big.2 /big.3"]
`);
  return tag;
}

/** buildBigImage's image, built once per engine: files that only read it share it. */
export async function sharedBigImage(dockerHost: string, megabytes = 120): Promise<string> {
  const tag = `handover-faults/big-${megabytes}:1`;
  if ((await imageId(dockerHost, tag)) !== undefined) return tag;
  return await buildBigImage(dockerHost, megabytes, tag);
}

/** What an engine holds: every image id with its tags, sorted; equal before and after a failed load. */
export async function imagesOn(dockerHost: string): Promise<string[]> {
  const lines = await docker(dockerHost, 'image', 'ls', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}');
  return lines.split('\n').filter((line) => line !== '').sort();
}

/** Removes every image an engine holds, so a test starts from an engine that holds no layer. */
export async function clearImages(dockerHost: string): Promise<void> {
  const ids = [...new Set((await docker(dockerHost, 'image', 'ls', '-aq', '--no-trunc')).split('\n').filter((id) => id !== ''))];
  if (ids.length > 0) await docker(dockerHost, 'image', 'rm', '-f', ...ids).catch(() => undefined);
  const left = (await docker(dockerHost, 'image', 'ls', '-aq')).trim();
  if (left !== '') throw new Error(`could not clear the images of ${dockerHost}: ${left}`);
}

// --- file systems -------------------------------------------------------------

/** Mounts a tmpfs of `size` (e.g. '8m') at a new directory; unmount with the returned function. */
export async function mountTmpfs(size: string, options: string[] = []): Promise<{ dir: string; unmount: () => Promise<void> }> {
  const dir = await mkdtemp('/tmp/hof-tmpfs-');
  await exec('mount', ['-t', 'tmpfs', '-o', [`size=${size}`, ...options].join(','), 'tmpfs', dir]);
  return {
    dir,
    unmount: async () => {
      await exec('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
