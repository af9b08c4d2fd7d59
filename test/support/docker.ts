import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { writeTar, type TarFile } from '../../src/archive/tar/tar-writer.ts';
import { JsonMessageParser, messageError } from '../../src/engine/json-messages.ts';

const exec = promisify(execFile);

function socketOf(dockerHost: string): string {
  return dockerHost.replace(/^unix:\/\//, '');
}

/** The docker CLI against one engine: for what tests do as a user would (run, rmi, tag). */
export async function docker(dockerHost: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', ['-H', dockerHost, ...args], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  return stdout;
}

export async function runContainer(dockerHost: string, image: string, ...command: string[]): Promise<string> {
  return await docker(dockerHost, 'run', '--rm', '--network', 'none', image, ...command);
}

export async function imageId(dockerHost: string, reference: string): Promise<string | undefined> {
  try {
    return (await docker(dockerHost, 'image', 'inspect', '--format', '{{.Id}}', reference)).trim();
  } catch {
    return undefined;
  }
}

export async function removeImages(dockerHost: string, ...references: string[]): Promise<void> {
  for (const reference of references) {
    await docker(dockerHost, 'image', 'rm', '-f', reference).catch(() => undefined);
  }
}

export type ContextFiles = Record<string, Buffer | string>;

/** Builds an image through the Engine API (POST /build) from files in memory: no registry, no CLI builder. */
export async function buildImage(dockerHost: string, tag: string, dockerfile: string, files: ContextFiles = {}): Promise<string> {
  const entries: TarFile[] = Object.entries({ Dockerfile: dockerfile, ...files }).map(([name, content]) => {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    // The context's executables (busybox) must stay executable in the image.
    const mode = name === 'busybox' || name.endsWith('.sh') ? 0o755 : 0o644;
    return { name, size: bytes.length, mode, content: function* () { yield bytes; } };
  });
  const req = request({
    socketPath: socketOf(dockerHost),
    method: 'POST',
    path: `/build?t=${encodeURIComponent(tag)}&rm=1&forcerm=1&networkmode=none`,
    headers: { 'Content-Type': 'application/x-tar', Host: 'docker' },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  await pipeline(Readable.from(writeTar(entries)), req);
  const res = await response;
  const parser = new JsonMessageParser();
  const log: string[] = [];
  for await (const chunk of res) {
    for (const message of parser.push(chunk as Buffer)) {
      const error = messageError(message);
      if (error !== undefined) throw new Error(`docker build of ${tag} failed: ${error}\n${log.join('')}`);
      if (message.stream !== undefined) log.push(message.stream);
    }
  }
  if (res.statusCode !== 200) throw new Error(`docker build of ${tag} answered ${res.statusCode}: ${log.join('')}`);
  const id = await imageId(dockerHost, tag);
  if (id === undefined) throw new Error(`docker build of ${tag} produced no image:\n${log.join('')}`);
  return id;
}

/** Imports a root file system tar as a one-layer image (POST /images/create?fromSrc=-), as docker import does. */
export async function importImage(dockerHost: string, reference: string, files: TarFile[]): Promise<void> {
  const [repo, tag] = reference.split(':') as [string, string];
  const req = request({
    socketPath: socketOf(dockerHost),
    method: 'POST',
    path: `/images/create?fromSrc=-&repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`,
    headers: { 'Content-Type': 'application/x-tar', Host: 'docker' },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  await pipeline(Readable.from(writeTar(files)), req);
  const res = await response;
  let body = '';
  for await (const chunk of res) body += (chunk as Buffer).toString();
  if (res.statusCode !== 200 || body.includes('"error"')) throw new Error(`docker import of ${reference} failed: ${body}`);
  // Podman's compatible API ignores `tag` on an import and names the image `repo:latest`.
  if ((await imageId(dockerHost, reference)) === undefined) await docker(dockerHost, 'tag', `${repo}:latest`, reference);
}

let busybox: Buffer | undefined;

/** busybox-static from Debian: a shell and coreutils for images built FROM scratch. */
export async function busyboxBinary(): Promise<Buffer> {
  busybox ??= await readFile('/usr/bin/busybox').catch(() => {
    throw new Error('/usr/bin/busybox is missing: install Debian\'s busybox-static (the CI script does).');
  });
  return busybox;
}
