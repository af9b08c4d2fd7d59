import { COMPRESSIONS, type Compression } from '../bundle/media-types.ts';
import { Defaults } from '../defaults.ts';
import { parseDigest, type Digest } from '../digest/digest.ts';
import { parseList } from '../entry/list-input.ts';
import { oneOf } from '../entry/one-of.ts';
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
  /** Undefined: plain layers get zstd and compressed ones stay as built. */
  compression: Compression | undefined;
  store: string;
}

/** The load action's inputs, keyed by their names in load/action.yml. */
export interface LoadInputs {
  name: string;
  /** The pinned bundle digest, or undefined when none was given. */
  expect: Digest | undefined;
  tags: string[];
  store: string;
  /** Another workflow run to load from (its GITHUB_RUN_ID), or undefined for this run. */
  'run-id': number | undefined;
  /** owner/name of the run's repository. */
  repository: string;
  /** A token with actions:read, for another run's artifacts. */
  'github-token': string;
}

function parseRetentionDays(value: string): number {
  const text = value.trim();
  if (text === '') return Defaults.retentionDays;
  const days = Number(text);
  if (Number.isInteger(days) && days >= 1 && days <= 90) return days;
  throw new UsageError(`Expected retention-days as a whole number of days from 1 to 90, found '${text}'.`, {
    hint: 'The plan keeps the image for one day (retention-days: 1), enough for the jobs of one run.',
  });
}

function parseCompression(value: string): Compression | undefined {
  if (value.trim() === '') return undefined;
  return oneOf(value, COMPRESSIONS, 'the compression input', {
    fallback: Defaults.compression,
    hint: 'Leave it empty: plain layers get zstd and compressed ones stay as built. Set it to re-encode every layer.',
  });
}

/** Reads and checks every export input once, before any work. */
export function readExportInputs(read: InputReader): ExportInputs {
  return {
    images: parseList(read('images'), 'images'),
    archive: read('archive').trim(),
    tag: read('tag').trim(),
    name: parseBundleName(read('name').trim() || Defaults.bundleName),
    'retention-days': parseRetentionDays(read('retention-days')),
    compression: parseCompression(read('compression')),
    store: read('store').trim(),
  };
}

/** Reads and checks every load input once, before any work. */
export function readLoadInputs(read: InputReader): LoadInputs {
  const expect = read('expect').trim();
  const runId = parseRunId(read('run-id'));
  const repository = read('repository').trim();
  const token = read('github-token').trim();
  if (runId !== undefined && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) {
    throw new UsageError(`Expected repository as owner/name to load from run ${runId}, found '${repository}'.`, {
      hint: 'Leave repository unset for this repository, or name the repository whose run made the artifact.',
    });
  }
  if (runId !== undefined && token === '') {
    throw new UsageError(`Loading from run ${runId} needs a token with actions:read, found an empty github-token.`, {
      hint: 'Leave github-token at its default (the job\'s GITHUB_TOKEN) and grant the job permissions: actions: read.',
    });
  }
  return {
    name: parseBundleName(read('name').trim() || Defaults.bundleName),
    expect: expect === '' ? undefined : parseDigest(expect, 'expect input'),
    tags: parseList(read('tags'), 'tags'),
    store: read('store').trim(),
    'run-id': runId,
    repository,
    'github-token': token,
  };
}

function parseRunId(value: string): number | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  if (/^[1-9][0-9]{0,18}$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  throw new UsageError(`Expected run-id as a workflow run id (digits), found '${text}'.`, {
    hint: 'Pass github.run_id of the run that exported the bundle, or leave run-id empty for this run.',
  });
}
