/**
 * The bench images, built offline on the producer engine with the legacy
 * builder FROM scratch: real files of this machine in four large layers (a
 * base of binaries and libraries, a runtime, a layer of many small files,
 * dependencies) and a small top layer. Image "b" differs from "a" only in
 * the top layer; the "double" image has every large layer twice the size.
 * Contexts and images are kept between runs, keyed by a hash of this spec.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { docker } from './engines.ts';
import { q, run, sh } from './measure.ts';

interface LayerSpec {
  name: string;
  /** Directories of this machine the layer's files come from, in order. */
  roots: readonly string[];
  /** Megabytes (10^6) of file content at scale 1. */
  budgetMB: number;
  /** Only files smaller than this, for the layer of many small files. */
  maxFileBytes?: number;
}

const layers: readonly LayerSpec[] = [
  { name: 'base', roots: ['/usr/lib/x86_64-linux-gnu', '/usr/bin', '/usr/sbin'], budgetMB: 460 },
  { name: 'runtime', roots: ['/usr/lib/jvm', '/usr/lib/llvm-14', '/usr/lib/gcc'], budgetMB: 200 },
  {
    name: 'small',
    roots: ['/usr/share', '/usr/include', '/usr/lib/python3', '/usr/lib/python3.11'],
    budgetMB: 120,
    maxFileBytes: 64 * 1024,
  },
  { name: 'deps', roots: ['/usr/lib/postgresql', '/usr/lib/git-core', '/usr/lib/cni'], budgetMB: 30 },
];

/** Bumped when the way images are made changes, so cached ones are rebuilt. */
const specVersion = 2;
const labelKey = 'io.handover.bench.spec';

export interface BenchImage {
  ref: string;
  /** The uncompressed size the engine reports. */
  sizeBytes: number;
}

export interface BenchImages {
  first: BenchImage;
  second: BenchImage;
  double?: BenchImage;
}

function specHash(scale: number): string {
  return createHash('sha256').update(JSON.stringify({ specVersion, layers, scale })).digest('hex').slice(0, 16);
}

interface FileEntry {
  size: number;
  path: string;
}

async function listFiles(spec: LayerSpec): Promise<FileEntry[]> {
  const script = `find ${spec.roots.map(q).join(' ')} -xdev \\( -type f -o -type l \\) -printf '%s\\t%i\\t%p\\n' 2>/dev/null | LC_ALL=C sort -t $'\\t' -k3 || true`;
  const { stdout } = await sh(script);
  // Hard links would count their content once per name but occupy it once: keep the first name.
  const seen = new Set<string>();
  const files: FileEntry[] = [];
  for (const line of stdout.split('\n')) {
    const [size, inode, ...rest] = line.split('\t');
    if (size === undefined || inode === undefined || rest.length === 0 || seen.has(inode)) continue;
    seen.add(inode);
    const entry = { size: Number.parseInt(size, 10), path: rest.join('\t') };
    if (spec.maxFileBytes === undefined || entry.size < spec.maxFileBytes) files.push(entry);
  }
  return files;
}

/** The first files, in path order, whose sizes add up to the budget. */
export function takeBudget(files: readonly FileEntry[], budgetBytes: number): FileEntry[] {
  const taken: FileEntry[] = [];
  let total = 0;
  for (const file of files) {
    if (total >= budgetBytes) break;
    taken.push(file);
    total += file.size;
  }
  return taken;
}

/** Deterministic application-like text (source files and a manifest), different per variant. */
function topLayerFiles(variant: string): Map<string, string> {
  const files = new Map<string, string>();
  for (let i = 0; i < 40; i++) {
    const lines: string[] = [];
    for (let j = 0; j < 400; j++) {
      lines.push(`export function handler${i}_${j}(input) { return { variant: '${variant}', id: ${i * 1000 + j}, value: input * ${j + 1} }; }`);
    }
    files.set(`app/lib/module-${i}.js`, lines.join('\n') + '\n');
  }
  files.set('app/VERSION', `bench-${variant}\n`);
  files.set('app/main.sh', `#!/bin/sh\necho "bench image ${variant}"\n`);
  return files;
}

async function buildContext(dir: string, scale: number, hash: string, log: (line: string) => void): Promise<void> {
  const stamp = join(dir, '.stamp');
  try {
    if ((await readFile(stamp, 'utf8')) === hash) return;
  } catch {
    // no context yet
  }
  log(`building the context at ${dir} (scale ${scale})`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const spec of layers) {
    const files = takeBudget(await listFiles(spec), spec.budgetMB * 1e6 * scale);
    const list = join(dir, `${spec.name}.list`);
    await writeFile(list, files.map((file) => file.path.slice(1)).join('\n') + '\n');
    await mkdir(join(dir, spec.name));
    await sh(`tar -C / --no-recursion --ignore-failed-read -cf - -T ${q(list)} | tar -C ${q(join(dir, spec.name))} -xf -`);
    log(`  layer ${spec.name}: ${files.length} files`);
  }
  for (const variant of ['a', 'b']) {
    for (const [path, text] of topLayerFiles(variant)) {
      const full = join(dir, `top-${variant}`, path);
      await mkdir(join(full, '..'), { recursive: true });
      await writeFile(full, text);
    }
    const copies = layers.map((spec) => `COPY ${spec.name} /`).join('\n');
    await writeFile(
      join(dir, `Dockerfile.${variant}`),
      `FROM scratch\n${copies}\nCOPY top-${variant} /\nLABEL ${labelKey}=${hash}\nCMD ["/app/main.sh"]\n`,
    );
  }
  await writeFile(join(dir, '.dockerignore'), '*.list\n.stamp\n');
  await writeFile(stamp, hash);
}

async function ensureImage(host: string, ref: string, dir: string, variant: string, hash: string, log: (line: string) => void): Promise<BenchImage> {
  const label = await docker(host, ['image', 'inspect', '-f', `{{index .Config.Labels "${labelKey}"}}`, ref], true);
  if (label.exitCode !== 0 || label.stdout.trim() !== hash) {
    log(`building ${ref} on the producer (legacy builder, FROM scratch)`);
    const start = Date.now();
    await run('docker', ['-H', host, 'build', '-q', '-f', join(dir, `Dockerfile.${variant}`), '-t', ref, dir], {
      env: { DOCKER_BUILDKIT: '0' },
    });
    log(`  built ${ref} in ${((Date.now() - start) / 1000).toFixed(0)} s`);
  }
  const size = await docker(host, ['image', 'inspect', '-f', '{{.Size}}', ref]);
  return { ref, sizeBytes: Number.parseInt(size.stdout.trim(), 10) };
}

export async function ensureImages(
  host: string,
  workDir: string,
  options: { double: boolean },
  log: (line: string) => void,
): Promise<BenchImages> {
  const hash = specHash(1);
  const dir = join(workDir, 'context-1');
  await buildContext(dir, 1, hash, log);
  const first = await ensureImage(host, 'bench/app:a', dir, 'a', hash, log);
  const second = await ensureImage(host, 'bench/app:b', dir, 'b', hash, log);
  if (!options.double) return { first, second };
  const doubleHash = specHash(2);
  const doubleDir = join(workDir, 'context-2');
  await buildContext(doubleDir, 2, doubleHash, log);
  const double = await ensureImage(host, 'bench/app-double:a', doubleDir, 'a', doubleHash, log);
  return { first, second, double };
}
