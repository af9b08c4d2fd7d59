import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../../src/action/failure.ts';
import { logProgress } from '../../../src/action/log-progress.ts';
import { exportSummaryMarkdown, failureSummaryMarkdown, loadSummaryMarkdown } from '../../../src/action/summary.ts';
import { formatBytes } from '../../../src/units.ts';
import { BundleDigestMismatchError, ExitStatus } from '../../../src/errors.ts';

const digest = `sha256:${'b'.repeat(64)}`;
const image = { tags: ['charon:local'], imageId: `sha256:${'c'.repeat(64)}`, layers: 4, uncompressedBytes: 842 * 1024 * 1024, storedBytes: 278 * 1024 * 1024 };

describe('job summaries', () => {
  it('shows the bundle, the images, bytes stored against uncompressed, and each phase', () => {
    const markdown = exportSummaryMarkdown({
      name: 'docker-image',
      bundleDigest: digest,
      store: { kind: 'github-artifacts', location: 'GitHub Actions artifacts of run 1' },
      artifactId: 42,
      compression: 'zstd',
      images: [image],
      storedBytes: 278 * 1024 * 1024,
      phases: { inspect: 12, stream: 6100, publish: 2300 },
      totalMs: 8412,
      uploadMs: 1900,
    });
    expect(markdown).toContain(`- Bundle digest: \`${digest}\``);
    expect(markdown).toContain('artifact `docker-image` (id 42)');
    expect(markdown).toContain('- Stored: 278.0 MiB (33 % of 842.0 MiB uncompressed), layers compressed with zstd');
    expect(markdown).toContain('| `charon:local` | `sha256:cccccccccccc` | 4 | 842.0 MiB | 278.0 MiB |');
    expect(markdown).toContain('| stream | 6.10 s |');
    expect(markdown).toContain('| artifact upload (from its creation to its finalizing, overlapping the phases above) | 1.90 s |');
    expect(markdown).toContain('| **total** | **8.41 s** |');
  });

  it('says on load whether the digest was pinned and which tags were verified', () => {
    const markdown = loadSummaryMarkdown({
      name: 'docker-image',
      bundleDigest: digest,
      pinned: false,
      store: { kind: 'github-artifacts', location: 'run 1' },
      images: [{ tags: image.tags, imageId: image.imageId, layers: 4 }],
      verifiedTags: ['charon:local'],
      readBytes: 2048,
      loadedBytes: 4096,
      phases: { verify: 40 },
      totalMs: 900,
    });
    expect(markdown).toContain('not pinned');
    expect(markdown).toContain('- Verified on the engine: `charon:local`');
    expect(markdown).toContain('- Read 2.0 KiB from the store (50 % of 4.0 KiB uncompressed); streamed 4.0 KiB into the engine');
    expect(markdown).toContain('| `charon:local` | `sha256:cccccccccccc` | 4 | — | — |');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });

  it('fails with the CLI message and hint, and the class exit status', () => {
    const failure = describeFailure(new BundleDigestMismatchError('Bundle x has digest a, expected b.', { hint: 'Re-run the producer.' }));
    expect(failure).toEqual({ message: '[BUNDLE_DIGEST_MISMATCH] Bundle x has digest a, expected b.\nRe-run the producer.', exitStatus: 5 });
    expect(describeFailure(new Error('boom')).exitStatus).toBe(ExitStatus.internal);
    expect(failureSummaryMarkdown('load', failure.message)).toBe(
      '### Image handover: load failed\n\n> [BUNDLE_DIGEST_MISMATCH] Bundle x has digest a, expected b.\n>\n> Re-run the producer.\n',
    );
  });

  it('logs progress at phase changes and at most once per interval', () => {
    const lines: string[] = [];
    let now = 0;
    const listener = logProgress((l) => lines.push(l), 1000, () => now);
    listener({ phase: 'export', bytes: 0, total: 2048 });
    now = 500;
    listener({ phase: 'export', bytes: 1024, total: 2048 });
    now = 1500;
    listener({ phase: 'export', bytes: 2048, total: 2048 });
    listener({ phase: 'load', bytes: 1, total: undefined });
    expect(lines).toEqual(['export: 0 B of ~2.0 KiB', 'export: 2.0 KiB of ~2.0 KiB', 'load: 1 B']);
  });
});
