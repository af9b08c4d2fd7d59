import { COMPRESSIONS, type Compression } from '../bundle/media-types.ts';
import { parseDigest, type Digest } from '../digest/digest.ts';
import { UsageError } from '../errors.ts';
import { parseBundleName } from '../store/bundle-name.ts';

/** Reads one input as the runner passed it (core.getInput in the actions). */
export type InputReader = (name: string) => string;

/** The export action's inputs, keyed by their names in export/action.yml. */
export interface ExportInputs {
  images: string[];
  archive: string;
  tag: string;
  name: string;
  'retention-days': number;
  compression: Compression;
  store: string;
}

/** The load action's inputs, keyed by their names in load/action.yml. */
export interface LoadInputs {
  name: string;
  /** The pinned bundle digest, or undefined when none was given. */
  expect: Digest | undefined;
  tags: string[];
  store: string;
}

export const DEFAULT_NAME = 'docker-image';
export const DEFAULT_RETENTION_DAYS = 1;

/** Splits a list input: one item per line or comma-separated; blank items (YAML block scalars) are dropped. */
export function parseList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseRetentionDays(value: string): number {
  const text = value.trim();
  if (text === '') return DEFAULT_RETENTION_DAYS;
  const days = Number(text);
  if (Number.isInteger(days) && days >= 1 && days <= 90) return days;
  throw new UsageError(`Expected retention-days as a whole number of days from 1 to 90, found '${text}'.`, {
    hint: 'The plan keeps the image for one day (retention-days: 1), enough for the jobs of one run.',
  });
}

function parseCompression(value: string): Compression {
  const text = value.trim();
  if (text === '') return 'zstd';
  if ((COMPRESSIONS as readonly string[]).includes(text)) return text as Compression;
  throw new UsageError(`Expected compression as one of ${COMPRESSIONS.join(', ')}, found '${text}'.`, {
    hint: 'Leave it unset for zstd, the fastest at a size close to gzip.',
  });
}

/** Reads and checks every export input once, before any work. */
export function readExportInputs(read: InputReader): ExportInputs {
  return {
    images: parseList(read('images')),
    archive: read('archive').trim(),
    tag: read('tag').trim(),
    name: parseBundleName(read('name').trim() || DEFAULT_NAME),
    'retention-days': parseRetentionDays(read('retention-days')),
    compression: parseCompression(read('compression')),
    store: read('store').trim(),
  };
}

/** Reads and checks every load input once, before any work. */
export function readLoadInputs(read: InputReader): LoadInputs {
  const expect = read('expect').trim();
  return {
    name: parseBundleName(read('name').trim() || DEFAULT_NAME),
    expect: expect === '' ? undefined : parseDigest(expect, 'expect input'),
    tags: parseList(read('tags')),
    store: read('store').trim(),
  };
}
