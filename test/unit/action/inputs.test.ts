import { describe, expect, it } from 'vitest';
import { readExportInputs, readLoadInputs, parseList } from '../../../src/action/inputs.ts';
import { InvalidDigestError, InvalidNameError, UsageError } from '../../../src/errors.ts';

const reader = (values: Record<string, string>) => (name: string): string => values[name] ?? '';

describe('action inputs', () => {
  it('splits image lists on newlines and commas and drops blank lines', () => {
    expect(parseList('charon-build:1\n\n  api:2 , worker:3,\n')).toEqual(['charon-build:1', 'api:2', 'worker:3']);
    expect(parseList('')).toEqual([]);
  });

  it('reads export inputs with the action.yml defaults', () => {
    expect(readExportInputs(reader({ images: 'charon-build:123', tag: 'charon:local' }))).toEqual({
      images: ['charon-build:123'],
      archive: '',
      tag: 'charon:local',
      name: 'docker-image',
      'retention-days': 1,
      compression: 'zstd',
      store: '',
    });
  });

  it('refuses bad retention days, compression and names before any work', () => {
    expect(() => readExportInputs(reader({ 'retention-days': '0' }))).toThrow(UsageError);
    expect(() => readExportInputs(reader({ 'retention-days': '1.5' }))).toThrow(/whole number of days from 1 to 90, found '1.5'/);
    expect(() => readExportInputs(reader({ compression: 'lz4' }))).toThrow(/one of zstd, gzip, none, found 'lz4'/);
    expect(() => readExportInputs(reader({ name: '../x' }))).toThrow(InvalidNameError);
  });

  it('reads load inputs: expect pinned as a digest, tags as a list', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(readLoadInputs(reader({ expect: ` ${digest} `, tags: 'charon:local' }))).toEqual({
      name: 'docker-image',
      expect: digest,
      tags: ['charon:local'],
      store: '',
    });
    expect(readLoadInputs(reader({})).expect).toBeUndefined();
    expect(() => readLoadInputs(reader({ expect: 'latest' }))).toThrow(InvalidDigestError);
  });
});
