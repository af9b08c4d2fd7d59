import { createHash } from 'node:crypto';
import { InvalidDigestError } from '../errors.ts';

/** A content digest in OCI form: `sha256:` and 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/** Parses a digest given by a user or found in a document; `what` names it in the message. */
export function parseDigest(value: string, what = 'digest'): Digest {
  const trimmed = value.trim();
  if (isDigest(trimmed)) return trimmed;
  if (/^[0-9a-f]{64}$/.test(trimmed)) return `sha256:${trimmed}`;
  throw new InvalidDigestError(
    `Expected the ${what} as sha256:<64 hex digits>, found ${trimmed === '' ? 'an empty value' : `'${trimmed}'`}.`,
    { hint: 'Pass the bundle digest that export printed (or its bundle-digest output) unchanged.' },
  );
}

/** The 64 hex digits of a digest, used as a file name. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A short form for humans: sha256:0123456789ab. */
export function shortDigest(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(0, 'sha256:'.length + 12) : digest.slice(0, 12);
}
