#!/usr/bin/env node
// Bundles each GitHub Action entry into its committed dist/index.cjs.
//   node scripts/build-actions.mjs           write export/dist and load/dist
//   node scripts/build-actions.mjs --check   exit 1 when a fresh build differs from the committed files
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const ACTIONS = [
  { entry: 'src/action/entries/export.ts', outfile: 'export/dist/index.cjs' },
  { entry: 'src/action/entries/load.ts', outfile: 'load/dist/index.cjs' },
];

/** Builds one action in memory; returns the bundle's text. */
async function bundle(action) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [action.entry],
    outfile: action.outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    keepNames: true,
    // ESM dependencies (@azure/storage-common) read import.meta.url, which CommonJS lacks: give it the bundle's own URL.
    banner: { js: 'var __bundleImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__bundleImportMetaUrl' },
    legalComments: 'eof',
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

async function main(check) {
  let stale = 0;
  for (const action of ACTIONS) {
    const text = await bundle(action);
    const path = join(root, action.outfile);
    if (check) {
      const committed = await readFile(path, 'utf8').catch(() => undefined);
      if (committed !== text) {
        stale++;
        console.error(`${relative(root, path)} differs from a fresh build: run npm run build:actions and commit it.`);
      }
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    console.log(`${relative(root, path)}: ${(text.length / 1024).toFixed(0)} KiB`);
  }
  if (stale > 0) process.exitCode = 1;
}

await main(process.argv.includes('--check'));
