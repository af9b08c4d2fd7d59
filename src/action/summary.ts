import { shortDigest } from '../digest/digest.ts';
import { formatBytes, formatDuration } from '../units.ts';
import type { PhaseTimings } from '../handover/progress.ts';

/** One image as the summaries show it. */
export interface SummaryImage {
  tags: string[];
  imageId: string;
  layers: number;
  /** Per-image byte counts, where the flow reports them. */
  uncompressedBytes?: number | undefined;
  storedBytes?: number | undefined;
}

export interface ExportSummary {
  name: string;
  bundleDigest: string;
  store: { kind: string; location: string };
  artifactId: number | undefined;
  compression: string;
  images: SummaryImage[];
  /** Bytes the bundle occupies in the store. */
  storedBytes: number;
  phases: PhaseTimings;
  totalMs: number;
  /** From creating the artifact to finalizing it (GitHub artifacts only): the upload overlaps the export's phases. */
  uploadMs?: number | undefined;
}

export interface LoadSummary {
  name: string;
  bundleDigest: string;
  /** Whether the digest was pinned with expect. */
  pinned: boolean;
  store: { kind: string; location: string };
  images: SummaryImage[];
  /** Tags checked on the engine after the load. */
  verifiedTags: string[];
  /** Bytes read from the store: the bundle as stored (compressed layers). */
  readBytes: number;
  /** Bytes streamed into the engine (layers decompressed and verified on the way). */
  loadedBytes: number;
  phases: PhaseTimings;
  totalMs: number;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function imagesTable(images: SummaryImage[]): string {
  return table(
    ['Tags', 'Image id', 'Layers', 'Uncompressed', 'Stored'],
    images.map((image) => [
      image.tags.length === 0 ? '(untagged)' : image.tags.map((t) => `\`${t}\``).join(', '),
      `\`${shortDigest(image.imageId)}\``,
      String(image.layers),
      image.uncompressedBytes === undefined ? '—' : formatBytes(image.uncompressedBytes),
      image.storedBytes === undefined ? '—' : formatBytes(image.storedBytes),
    ]),
  );
}

function phasesTable(phases: PhaseTimings, totalMs: number, uploadMs?: number): string {
  const rows = Object.entries(phases).map(([phase, ms]) => [phase, formatDuration(ms)]);
  if (uploadMs !== undefined) rows.push(['artifact upload (from its creation to its finalizing, overlapping the phases above)', formatDuration(uploadMs)]);
  return table(['Phase', 'Time'], [...rows, ['**total**', `**${formatDuration(totalMs)}**`]]);
}

function ratio(stored: number, uncompressed: number): string {
  return uncompressed === 0 ? '' : ` (${((stored / uncompressed) * 100).toFixed(0)} % of ${formatBytes(uncompressed)} uncompressed)`;
}

/** The export job summary, in GitHub-flavoured Markdown. */
export function exportSummaryMarkdown(summary: ExportSummary): string {
  const uncompressed = summary.images.reduce((sum, i) => sum + (i.uncompressedBytes ?? 0), 0);
  const where =
    summary.artifactId === undefined ? `${summary.store.kind} store at \`${summary.store.location}\`` : `artifact \`${summary.name}\` (id ${summary.artifactId})`;
  return [
    `### Image handover: exported \`${summary.name}\``,
    '',
    `- Bundle digest: \`${summary.bundleDigest}\` (pin it in consumers with \`expect\`)`,
    `- Stored as ${where}`,
    `- Stored: ${formatBytes(summary.storedBytes)}${ratio(summary.storedBytes, uncompressed)}, layers compressed with ${summary.compression}`,
    '',
    imagesTable(summary.images),
    '',
    phasesTable(summary.phases, summary.totalMs, summary.uploadMs),
    '',
  ].join('\n');
}

/** The load job summary, in GitHub-flavoured Markdown. */
export function loadSummaryMarkdown(summary: LoadSummary): string {
  return [
    `### Image handover: loaded \`${summary.name}\``,
    '',
    `- Bundle digest: \`${summary.bundleDigest}\` ${summary.pinned ? '(matches `expect`)' : '(not pinned: set `expect` to the producer\'s bundle-digest output)'}`,
    `- From the ${summary.store.kind} store: ${summary.store.location}`,
    `- Read ${formatBytes(summary.readBytes)} from the store${ratio(summary.readBytes, summary.loadedBytes)}; streamed ${formatBytes(summary.loadedBytes)} into the engine, each blob verified on the way`,
    `- Verified on the engine: ${summary.verifiedTags.length === 0 ? 'image ids' : summary.verifiedTags.map((t) => `\`${t}\``).join(', ')}`,
    '',
    imagesTable(summary.images),
    '',
    phasesTable(summary.phases, summary.totalMs),
    '',
  ].join('\n');
}

/** The job summary of a failed step: what failed and what to do, as the log says it. */
export function failureSummaryMarkdown(action: 'export' | 'load', message: string): string {
  const [first = '', ...rest] = message.split('\n');
  return [`### Image handover: ${action} failed`, '', `> ${first}`, ...rest.map((line) => `>\n> ${line}`), ''].join('\n');
}
