export const BLOCK = 512;

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'pax' | 'pax-global' | 'gnu-longname' | 'gnu-longlink' | 'other';

export interface TarHeader {
  name: string;
  size: number;
  type: EntryType;
  linkname: string;
  mode: number;
}

function typeOf(flag: string): EntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    case 'x':
      return 'pax';
    case 'g':
      return 'pax-global';
    case 'L':
      return 'gnu-longname';
    case 'K':
      return 'gnu-longlink';
    default:
      return 'other';
  }
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** Numeric fields are octal text, or base-256 (high bit set) for values past 8 GiB. */
function number(block: Buffer, start: number, length: number): number | undefined {
  const field = block.subarray(start, start + length);
  if ((field[0]! & 0x80) !== 0) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const digits = text(block, start, length).trim();
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) return undefined;
  return parseInt(digits, 8);
}

export function isZeroBlock(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

/** Parses a 512-byte header; undefined when the checksum or fields do not hold. */
export function parseHeader(block: Buffer): TarHeader | undefined {
  const stored = number(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (stored !== sum) return undefined;
  const size = number(block, 124, 12);
  const mode = number(block, 100, 8);
  if (size === undefined || mode === undefined) return undefined;
  const magic = block.subarray(257, 263).toString('latin1');
  const prefix = magic.startsWith('ustar') ? text(block, 345, 155) : '';
  const name = text(block, 0, 100);
  return {
    name: prefix === '' ? name : `${prefix}/${name}`,
    size,
    type: typeOf(String.fromCharCode(block[156]!)),
    linkname: text(block, 157, 100),
    mode,
  };
}

function writeOctal(block: Buffer, value: number, start: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, start, length, 'latin1');
}

/** A ustar header for a regular file; sizes past the octal field's range use base-256. */
export function fileHeader(name: string, size: number, mode = 0o644, mtime = 0): Buffer {
  if (Buffer.byteLength(name) > 100) throw new RangeError(`tar entry name longer than 100 bytes: ${name}`);
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  writeOctal(block, mode, 100, 8);
  writeOctal(block, 0, 108, 8);
  writeOctal(block, 0, 116, 8);
  if (size < 8 ** 11) {
    writeOctal(block, size, 124, 12);
  } else {
    let rest = size;
    for (let i = 135; i > 124; i--) {
      block[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    block[124] = 0x80;
  }
  writeOctal(block, mtime, 136, 12);
  block[156] = '0'.charCodeAt(0);
  block.write('ustar\0', 257, 6, 'latin1');
  block.write('00', 263, 2, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
