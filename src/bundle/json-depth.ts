/** How deep a manifest or config may nest arrays and objects (a real one nests a few levels). */
export const MAX_DOCUMENT_DEPTH = 64;

/** How deep an index may nest (a handover index is 4 deep). */
export const MAX_INDEX_DEPTH = 32;

/**
 * Whether JSON text nests arrays and objects deeper than `max`. Parsing a
 * few MiB of `[[[[…` costs hundreds of MiB of memory; this scan costs none.
 */
export function nestsDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
