import { Readable } from 'node:stream';
import fc from 'fast-check';
import { expect } from 'vitest';
import { HandoverError } from '../../../src/errors.ts';

/** Every fuzz property runs from a fixed seed, a bounded number of times: the same cases on every CI run. */
export const FUZZ_SEED = 20261124;

export function runs(numRuns: number): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns };
}

/** Calls `fn`: it may return, or throw a typed error (a HandoverError); anything else is a bug. */
export function typedOrValue<T>(fn: () => T): T | HandoverError {
  try {
    return fn();
  } catch (error) {
    if (error instanceof HandoverError) return error;
    throw error;
  }
}

/** The same for async work, which must also finish within `ms` (no hang). */
export async function typedOrValueWithin<T>(ms: number, fn: () => Promise<T>): Promise<T | HandoverError> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms (a hang)`)), ms);
  });
  try {
    return await Promise.race([fn(), hang]);
  } catch (error) {
    if (error instanceof HandoverError) return error;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export interface ByteEdit {
  at: number;
  kind: 'flip' | 'delete' | 'insert' | 'truncate';
  value: number;
}

export function byteEdits(maxLength: number): fc.Arbitrary<ByteEdit[]> {
  const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom<ByteEdit['kind']>('flip', 'delete', 'insert', 'truncate'), value: fc.integer({ min: 0, max: 255 }) });
  return fc.array(edit, { minLength: 1, maxLength });
}

/** Replaces the value at a path of a JSON document (walking objects and arrays; an empty path replaces it all). */
export function replaceAt(document: unknown, path: readonly number[], value: unknown): unknown {
  if (path.length === 0 || document === null || typeof document !== 'object') return value;
  const source = document as Record<string, unknown>;
  const keys = Object.keys(source);
  if (keys.length === 0) return value;
  const key = keys[path[0]! % keys.length]!;
  const copy: Record<string, unknown> = Array.isArray(document) ? (Object.assign([], document) as unknown as Record<string, unknown>) : { ...source };
  copy[key] = replaceAt(source[key], path.slice(1), value);
  return copy;
}

/** Bytes as a stream of uneven chunks, as a socket would deliver them. */
export function inChunks(bytes: Uint8Array, size: number): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) pieces.push(Buffer.from(bytes.subarray(at, at + size)));
  return Readable.from(pieces, { objectMode: false });
}

/** Flips, deletes or inserts bytes at positions fast-check picks. */
export function mutate(bytes: Uint8Array, edits: readonly ByteEdit[]): Buffer {
  let out = Buffer.from(bytes);
  for (const edit of edits) {
    if (out.length === 0) break;
    const at = edit.at % out.length;
    if (edit.kind === 'flip') out[at] = out[at]! ^ (edit.value || 1);
    else if (edit.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else if (edit.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from([edit.value]), out.subarray(at)]);
    else out = out.subarray(0, at);
  }
  return out;
}

export function expectHandoverError(value: unknown): void {
  expect(value).toBeInstanceOf(HandoverError);
}
