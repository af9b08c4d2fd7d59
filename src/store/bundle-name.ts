import { InvalidNameError } from '../errors.ts';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Validates a bundle name. Names become file names and artifact names, so
 * they are kept to a portable set that cannot climb out of a directory.
 */
export function parseBundleName(value: string | undefined): string {
  const name = (value ?? '').trim();
  if (NAME_PATTERN.test(name) && !name.includes('..')) return name;
  throw new InvalidNameError(
    `Expected a bundle name of letters, digits, '.', '_' or '-' (up to 128, starting with a letter or digit), found ${name === '' ? 'an empty name' : `'${name}'`}.`,
    { hint: "Use a name such as 'docker-image'; producer and consumers must use the same one." },
  );
}
