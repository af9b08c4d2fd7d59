import { EmptyReferenceError, InvalidReferenceError } from '../errors.ts';

/** A parsed image reference, in Docker's grammar (distribution/reference). */
export interface ImageReference {
  /** Registry host, e.g. "docker.io" or "localhost:5000". */
  domain: string;
  /** Repository path, e.g. "library/charon". */
  path: string;
  tag: string | undefined;
  digest: string | undefined;
  /** What the user wrote, trimmed. */
  original: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const MAX_NAME_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;

const FORMAT_HINT = 'An image reference looks like name[:tag] or registry/name[:tag][@sha256:…], lowercase, e.g. charon:local.';

function invalid(original: string, why: string): InvalidReferenceError {
  return new InvalidReferenceError(`Invalid image reference '${original}': ${why}.`, { hint: FORMAT_HINT, details: { reference: original } });
}

/**
 * Refuses an empty reference before any work: the usual cause is a CI output
 * that was never set (for example one written only when a push happened),
 * which Docker reports as "invalid reference format" much later.
 */
export function requireNonEmpty(value: string | undefined, what: string): string {
  const text = (value ?? '').trim();
  if (text === '') {
    throw new EmptyReferenceError(`Expected an image reference for ${what}, found an empty value.`, {
      hint: 'An empty reference usually comes from a CI output that was never set (e.g. set only when a push happened). Pass a literal tag such as charon:local, or fix the output.',
    });
  }
  return text;
}

export function parseReference(value: string | undefined, what = 'the image'): ImageReference {
  const original = requireNonEmpty(value, what);
  if (/\s/.test(original)) throw invalid(original, 'it contains white space');
  let rest = original;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(original, `'${digest}' is not a digest (algorithm:hex)`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(original, `'${tag}' is not a valid tag (letters, digits, '_', '.', '-'; up to 128)`);
  }
  if (rest === '') throw invalid(original, 'the repository name is missing');
  if (rest.length > MAX_NAME_LENGTH) throw invalid(original, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  const parts = rest.split('/');
  let domain = DEFAULT_DOMAIN;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!DOMAIN.test(first)) throw invalid(original, `'${first}' is not a registry host`);
    domain = first;
    parts.shift();
  }
  for (const part of parts) {
    if (part !== part.toLowerCase() && PATH_COMPONENT.test(part.toLowerCase())) throw invalid(original, 'repository names must be lowercase');
    if (!PATH_COMPONENT.test(part)) throw invalid(original, `'${part}' is not a valid name component`);
  }
  let path = parts.join('/');
  if (domain === DEFAULT_DOMAIN && parts.length === 1) path = `library/${path}`;
  return { domain, path, tag, digest, original };
}

/** The repository as Docker shows it: "charon", "ghcr.io/o/charon". */
export function familiarRepository(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith('library/') ? ref.path.slice('library/'.length) : ref.path;
}

/** The fully qualified repository: "docker.io/library/charon". */
export function qualifiedRepository(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** A reference used as a tag: it must not carry a digest, and gets ":latest" when it has no tag. */
export function parseTagReference(value: string | undefined, what = 'the tag'): ImageReference & { tag: string } {
  const ref = parseReference(value, what);
  if (ref.digest !== undefined) throw invalid(ref.original, 'a tag cannot carry a digest (@sha256:…)');
  return { ...ref, tag: ref.tag ?? 'latest' };
}

/** "charon:local" — how a tag is written in the bundle and in messages. */
export function familiarTag(ref: ImageReference & { tag: string }): string {
  return `${familiarRepository(ref)}:${ref.tag}`;
}

export function qualifiedTag(ref: ImageReference & { tag: string }): string {
  return `${qualifiedRepository(ref)}:${ref.tag}`;
}

const IMAGE_ID = /^(?:sha256:)?[0-9a-f]{12,64}$/;

/** True for an image id (sha256:… or a hex prefix) rather than a name. */
export function isImageId(value: string): boolean {
  return IMAGE_ID.test(value.trim());
}
