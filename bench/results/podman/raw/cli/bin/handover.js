#!/usr/bin/env -S node --max-semi-space-size=1
// The small young generation keeps memory flat while gigabytes stream through (about 110 MiB instead of 160).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  process.stderr.write(`handover: needs Node.js 22.15 or newer (for zstd in node:zlib), found ${process.versions.node}.\n  Run it with a newer node, e.g. through npm scripts after npm ci (the project brings Node 24).\n`);
  process.exit(2);
}
const { run } = await import('../lib/cli/process.js');
process.exitCode = await run(process.argv.slice(2));
