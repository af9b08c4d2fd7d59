/**
 * A registry in between: Debian's docker-registry (distribution 2.8) on
 * 127.0.0.1 with a fresh filesystem storage per round. The engines treat
 * 127.0.0.0/8 as an insecure registry by default, so no TLS is needed. The
 * engine compresses layers with gzip on push and skips layers the registry
 * (or, on pull, the consumer engine) already holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sleep } from '../engines.ts';
import { q } from '../measure.ts';
import type { HandoverCase, Pattern } from './pattern.ts';
import { onConsumer, onProducer, timedSide } from './shell.ts';

const registryBinary = '/usr/bin/docker-registry';

interface Running {
  storeDir: string;
  port: number;
  child: ChildProcess;
}

let running: Running | undefined;

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function stopRegistry(): Promise<void> {
  const current = running;
  running = undefined;
  if (current === undefined || current.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => current.child.once('exit', () => resolve()));
  current.child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
}

async function startRegistry(storeDir: string): Promise<Running> {
  if (running?.storeDir === storeDir) return running;
  await stopRegistry();
  const port = await freePort();
  const root = join(storeDir, 'registry');
  await mkdir(root, { recursive: true });
  const config = join(storeDir, '..', `registry-${port}.yml`);
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${root}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(registryBinary, ['serve', config], { stdio: 'ignore' });
  running = { storeDir, port, child };
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (response.ok) return running;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`docker-registry did not answer on 127.0.0.1:${port}`);
}

function remoteRef(port: number, c: HandoverCase): string {
  return `127.0.0.1:${port}/bench/app:${c.key}`;
}

interface ManifestLayer {
  digest: string;
  size: number;
}

/** Bytes the pull fetched: the config and the layers the consumer did not already hold. */
async function pulledBytes(port: number, c: HandoverCase, pullOutput: string): Promise<number | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/v2/bench/app/manifests/${c.key}`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (!response.ok) return undefined;
  const manifest = (await response.json()) as { config?: ManifestLayer; layers?: ManifestLayer[] };
  const present = new Set(
    pullOutput
      .split('\n')
      .filter((line) => line.includes('Already exists'))
      .map((line) => line.split(':')[0]?.trim()),
  );
  let total = manifest.config?.size ?? 0;
  for (const layer of manifest.layers ?? []) {
    if (!present.has(layer.digest.replace(/^sha256:/, '').slice(0, 12))) total += layer.size;
  }
  return total;
}

export const registryPattern: Pattern = {
  id: 'registry',
  label: 'local registry (push, pull)',
  producerCommand: 'docker tag IMAGE 127.0.0.1:PORT/bench/app:TAG && docker push 127.0.0.1:PORT/bench/app:TAG',
  consumerCommand: 'docker pull 127.0.0.1:PORT/bench/app:TAG && docker tag 127.0.0.1:PORT/bench/app:TAG IMAGE',
  async unavailable() {
    try {
      await access(registryBinary);
      return undefined;
    } catch {
      return `${registryBinary} is missing (apt-get install docker-registry)`;
    }
  },
  async prepare(c) {
    await startRegistry(c.storeDir);
  },
  async produce(c) {
    const { port } = await startRegistry(c.storeDir);
    const remote = remoteRef(port, c);
    const side = await timedSide(`docker tag ${q(c.image.ref)} ${q(remote)} && docker push ${q(remote)} > /dev/null`, onProducer(c));
    return { wallMs: side.wallMs };
  },
  async consume(c) {
    const { port } = await startRegistry(c.storeDir);
    const remote = remoteRef(port, c);
    const side = await timedSide(`docker pull ${q(remote)} && docker tag ${q(remote)} ${q(c.image.ref)}`, onConsumer(c));
    const moved = await pulledBytes(port, c, side.run.stdout);
    return moved === undefined ? { wallMs: side.wallMs } : { wallMs: side.wallMs, bytesMoved: moved };
  },
  async cleanup(c) {
    if (running === undefined) return;
    await timedSide(`docker rmi ${q(remoteRef(running.port, c))} > /dev/null || true`, onProducer(c));
  },
  async tearDown() {
    await stopRegistry();
  },
};
