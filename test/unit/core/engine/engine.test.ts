import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../../../src/engine/docker-engine.ts';
import { Defaults } from '../../../../src/defaults.ts';
import { parseDockerHost } from '../../../../src/engine/docker-host.ts';
import { JsonMessageParser, messageError, type EngineMessage } from '../../../../src/engine/json-messages.ts';
import { BlobDigestMismatchError, ExitStatus } from '../../../../src/errors.ts';
import { collect, pattern, tempDirs, typedFailure, typedThrow } from '../support.ts';

describe('parseDockerHost', () => {
  it.each([
    [undefined, { kind: 'unix', socketPath: '/var/run/docker.sock', url: Defaults.dockerHost }],
    ['', { kind: 'unix', socketPath: '/var/run/docker.sock', url: Defaults.dockerHost }],
    ['  ', { kind: 'unix', socketPath: '/var/run/docker.sock', url: Defaults.dockerHost }],
    ['unix:///run/user/1000/docker.sock', { kind: 'unix', socketPath: '/run/user/1000/docker.sock', url: 'unix:///run/user/1000/docker.sock' }],
    ['/tmp/d.sock', { kind: 'unix', socketPath: '/tmp/d.sock', url: 'unix:///tmp/d.sock' }],
    ['tcp://10.0.0.5:2376', { kind: 'tcp', host: '10.0.0.5', port: 2376, url: 'tcp://10.0.0.5:2376' }],
    ['tcp://docker', { kind: 'tcp', host: 'docker', port: 2375, url: 'tcp://docker' }],
    // URL drops a port that is http's default; the one written is the one used.
    ['http://127.0.0.1:80', { kind: 'tcp', host: '127.0.0.1', port: 80, url: 'http://127.0.0.1:80' }],
    ['tcp://host:80', { kind: 'tcp', host: 'host', port: 80, url: 'tcp://host:80' }],
    ['tcp://[::1]:80', { kind: 'tcp', host: '::1', port: 80, url: 'tcp://[::1]:80' }],
    ['tcp://host:80/', { kind: 'tcp', host: 'host', port: 80, url: 'tcp://host:80/' }],
  ])('%j', (value, expected) => {
    expect(parseDockerHost(value)).toEqual(expected);
  });

  it.each([['unix://'], ['ssh://user@host'], ['docker.sock'], ['npipe:////./pipe/docker_engine'], ['tcp://'], ['tcp://host:port']])('refuses %j as USAGE (exit 2)', (value) => {
    const error = typedThrow(() => parseDockerHost(value), 'USAGE');
    expect(error.exitStatus).toBe(ExitStatus.usage);
    expect(error.message).toContain('DOCKER_HOST');
  });
});

describe('JsonMessageParser', () => {
  const text = '{"stream":"Loaded image: charon:local\\n"}\r\n{"status":"ünïcödé ✓"}\n\nnot json\n{"errorDetail":{"message":"write /var/lib: no space left on device"},"error":"no space"}\n{"stream":"tail"}';
  const bytes = Buffer.from(text);

  function parseSplit(cuts: number[]): EngineMessage[] {
    const parser = new JsonMessageParser();
    const out: EngineMessage[] = [];
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      out.push(...parser.push(bytes.subarray(from, cut)));
      from = cut;
    }
    return [...out, ...parser.end()];
  }

  const expected: EngineMessage[] = [
    { stream: 'Loaded image: charon:local\n' },
    { status: 'ünïcödé ✓' },
    { stream: 'not json' },
    { errorDetail: { message: 'write /var/lib: no space left on device' }, error: 'no space' },
    { stream: 'tail' },
  ];

  it('gives the same messages wherever one chunk boundary falls', () => {
    for (let cut = 0; cut <= bytes.length; cut++) expect(parseSplit([cut]), `cut at ${cut}`).toEqual(expected);
  });

  it('gives the same messages one byte at a time (multi-byte characters split)', () => {
    expect(parseSplit(Array.from({ length: bytes.length }, (_, i) => i))).toEqual(expected);
  });

  it('detects error messages', () => {
    expect(expected.map(messageError)).toEqual([undefined, undefined, undefined, 'write /var/lib: no space left on device', undefined]);
    expect(messageError({ error: 'plain' })).toBe('plain');
    expect(new JsonMessageParser().end()).toEqual([]);
    expect(new JsonMessageParser().push(Buffer.from('42\n'))).toEqual([{ stream: '42' }]);
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** A tiny engine: answers like the Docker Engine API for what a test sets up. */
function fakeEngine(handlers: Record<string, Handler>): Server {
  return createServer((req, res) => {
    void collect(req).then((body) => {
      const key = `${req.method} ${req.url?.split('?')[0]}`;
      const handler = handlers[key];
      if (handler === undefined) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: `page not found: ${key}` }));
        return;
      }
      handler(req, res, body);
    }, () => res.destroy()); // the client gave up mid-body
  });
}

const temp = tempDirs('engine');
let server: Server | undefined;
let received: { url: string; body: Buffer; headers: IncomingMessage['headers'] }[];

beforeEach(() => {
  received = [];
});

afterEach(async () => {
  if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
  await temp.cleanup();
});

async function listenUnix(handlers: Record<string, Handler>): Promise<string> {
  const socket = join(await temp.make(), 'docker.sock');
  server = fakeEngine(handlers);
  await new Promise<void>((resolve) => server!.listen(socket, resolve));
  return socket;
}

const record: (next: Handler) => Handler = (next) => (req, res, body) => {
  received.push({ url: req.url ?? '', body, headers: req.headers });
  next(req, res, body);
};

const jsonReply = (status: number, value: unknown): Handler => (_req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
};

function streamReply(lines: string[]): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for (const line of lines) res.write(line);
    res.end();
  };
}

describe('DockerEngine on a unix socket', () => {
  it('reads /version and image inspect; a missing image is undefined', async () => {
    const socket = await listenUnix({
      'GET /version': jsonReply(200, { Version: '29.0.1', ApiVersion: '1.52', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64', Components: [{ Name: 'Engine' }] }),
      'GET /images/charon%3Alocal/json': record(jsonReply(200, { Id: 'sha256:abc', RepoTags: ['charon:local'], RootFS: { Layers: ['sha256:l1'] }, Architecture: 'amd64', Os: 'linux', Variant: '', Size: 42 })),
      'GET /images/x/json': jsonReply(404, { message: 'No such image: x' }),
    });
    const engine = new DockerEngine(parseDockerHost(`unix://${socket}`));
    expect(engine.endpoint).toBe(`unix://${socket}`);
    expect(await engine.version()).toEqual({ product: 'docker', version: '29.0.1', apiVersion: '1.52', minApiVersion: '1.24', os: 'linux', arch: 'amd64' });
    expect(await engine.inspectImage('charon:local')).toEqual({ id: 'sha256:abc', repoTags: ['charon:local'], diffIds: ['sha256:l1'], architecture: 'amd64', os: 'linux', variant: undefined, size: 42 });
    expect(await engine.inspectImage('x')).toBeUndefined();
  });

  it('an engine error on inspect is ENGINE_ERROR with its message', async () => {
    const socket = await listenUnix({ 'GET /images/y/json': jsonReply(500, { message: 'daemon exploded' }), 'GET /version': (_q, res) => res.writeHead(503).end('maintenance') });
    const engine = new DockerEngine(parseDockerHost(socket));
    const error = await typedFailure(engine.inspectImage('y'), 'ENGINE_ERROR');
    expect(error.message).toContain('daemon exploded');
    expect(error.exitStatus).toBe(ExitStatus.engine);
    expect((await typedFailure(engine.version(), 'ENGINE_ERROR')).message).toContain('maintenance');
  });

  it('streams the archive to POST /images/load and returns the messages', async () => {
    const socket = await listenUnix({ 'POST /images/load': record(streamReply(['{"stream":"Loaded ima', 'ge ID: sha256:abc\\n"}\n'])) });
    const archive = pattern(300_000);
    const lines = await new DockerEngine(parseDockerHost(socket)).loadImages(Readable.from([archive.subarray(0, 1000), archive.subarray(1000)]));
    expect(lines).toEqual(['Loaded image ID: sha256:abc']);
    expect(received[0]!.url).toBe('/images/load?quiet=1');
    expect(received[0]!.headers['content-type']).toBe('application/x-tar');
    expect(received[0]!.body.equals(archive)).toBe(true);
  });

  it('an error inside the 200 JSON stream of a load is ENGINE_LOAD_FAILED', async () => {
    const socket = await listenUnix({
      'POST /images/load': streamReply(['{"stream":"Loading layer"}\n', '{"errorDetail":{"message":"open /var/lib/docker/tmp: no space left on device"},"error":"no space left on device"}\n']),
    });
    const error = await typedFailure(new DockerEngine(parseDockerHost(socket)).loadImages(Readable.from([Buffer.from('tar')])), 'ENGINE_LOAD_FAILED');
    expect(error.exitStatus).toBe(ExitStatus.engine);
    expect(error.message).toContain('no space left on device');
    expect(error.details).toEqual({ engineError: 'open /var/lib/docker/tmp: no space left on device' });
  });

  it('an error as the last line without a newline is still found', async () => {
    const socket = await listenUnix({ 'POST /images/load': streamReply(['{"error":"archive/tar: invalid tar header"}']) });
    const error = await typedFailure(new DockerEngine(parseDockerHost(socket)).loadImages(Readable.from([Buffer.from('x')])), 'ENGINE_LOAD_FAILED');
    expect(error.message).toContain('invalid tar header');
  });

  it('a non-200 load is ENGINE_LOAD_FAILED with the engine message', async () => {
    const socket = await listenUnix({ 'POST /images/load': jsonReply(500, { message: 'unexpected EOF' }) });
    const error = await typedFailure(new DockerEngine(parseDockerHost(socket)).loadImages(Readable.from([Buffer.from('x')])), 'ENGINE_LOAD_FAILED');
    expect(error.message).toContain('(500): unexpected EOF');
  });

  it('a verification error of the archive stream is reported as itself', async () => {
    const socket = await listenUnix({ 'POST /images/load': streamReply(['{"stream":"ok"}\n']) });
    const failing = new Readable({
      read() {
        this.destroy(new BlobDigestMismatchError('Blob layer 1 was altered.'));
      },
    });
    await typedFailure(new DockerEngine(parseDockerHost(socket)).loadImages(failing), 'BLOB_DIGEST_MISMATCH');
  });

  it('saves images with GET /images/get; a missing one is IMAGE_NOT_FOUND', async () => {
    const tar = pattern(10_000);
    const socket = await listenUnix({
      'GET /images/get': (req, res) => {
        received.push({ url: req.url ?? '', body: Buffer.alloc(0), headers: req.headers });
        if (req.url?.includes('missing') === true) {
          res.writeHead(404).end(JSON.stringify({ message: 'reference does not exist' }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/x-tar' }).end(tar);
      },
    });
    const engine = new DockerEngine(parseDockerHost(socket));
    expect((await collect(await engine.saveImages(['charon:local', 'ghcr.io/o/b:1']))).equals(tar)).toBe(true);
    expect(received[0]!.url).toBe('/images/get?names=charon%3Alocal&names=ghcr.io%2Fo%2Fb%3A1');
    const error = await typedFailure(engine.saveImages(['missing:1']), 'IMAGE_NOT_FOUND');
    expect(error.message).toContain('reference does not exist');
  });

  it('tags an image', async () => {
    const socket = await listenUnix({ 'POST /images/sha256%3Aabc/tag': record((_q, res) => res.writeHead(201).end()) });
    await new DockerEngine(parseDockerHost(socket)).tagImage('sha256:abc', 'ghcr.io/o/charon', 'local');
    expect(received[0]!.url).toBe('/images/sha256%3Aabc/tag?repo=ghcr.io%2Fo%2Fcharon&tag=local');
  });

  it('a missing socket is ENGINE_UNREACHABLE naming the socket', async () => {
    const socket = join(await temp.make(), 'no-such.sock');
    const engine = new DockerEngine(parseDockerHost(`unix://${socket}`));
    for (const work of [() => engine.version(), () => engine.inspectImage('x'), () => engine.saveImages(['x']), () => engine.loadImages(Readable.from([Buffer.from('x')]))]) {
      const error = await typedFailure(work(), 'ENGINE_UNREACHABLE');
      expect(error.exitStatus).toBe(ExitStatus.engine);
      expect(error.message).toContain(`unix://${socket}`);
      expect(error.details).toEqual({ endpoint: `unix://${socket}` });
      expect(error.hint).toMatch(/DOCKER_HOST/);
      expect(error.hint).toMatch(/podman system service/); // a Podman socket whose service is not running looks the same
    }
  });
});

describe('DockerEngine over tcp', () => {
  it('reaches an engine on tcp://host:port', async () => {
    server = fakeEngine({ 'GET /version': jsonReply(200, { Version: '28.0.0' }) });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    expect((await new DockerEngine(parseDockerHost(`tcp://127.0.0.1:${port}`)).version()).version).toBe('28.0.0');
  });

  it('a socket path that is a plain file (no engine listening) is ENGINE_UNREACHABLE', async () => {
    const socket = join(await temp.make(), 'docker.sock');
    await writeFile(socket, '');
    const error = await typedFailure(new DockerEngine(parseDockerHost(socket)).version(), 'ENGINE_UNREACHABLE');
    expect(error.message).toContain(socket);
  });
});
