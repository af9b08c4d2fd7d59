import { describe, expect, it } from 'vitest';
import { readExportInputs, readLoadInputs } from '../../../src/action/inputs.ts';
import { parseList } from '../../../src/entry/list-input.ts';
import { EmptyReferenceError, InvalidDigestError, InvalidNameError, UsageError } from '../../../src/errors.ts';

const reader = (values: Record<string, string>) => (name: string): string => values[name] ?? '';

describe('action inputs', () => {
  it('splits image lists on newlines and commas and skips blank lines', () => {
    expect(parseList('charon-build:1\n\n  api:2 , worker:3\n')).toEqual(['charon-build:1', 'api:2', 'worker:3']);
    expect(parseList('')).toEqual([]);
  });

  it('refuses an empty item beside a comma: an expression that evaluated to nothing', () => {
    expect(() => parseList(' , charon:local', 'images')).toThrow(EmptyReferenceError);
    expect(() => parseList('a:1\nb:2,', 'images')).toThrow("Expected a non-empty item in the images input, found an empty one on line 2 ('b:2,').");
  });

  it('reads export inputs with the action.yml defaults', () => {
    expect(readExportInputs(reader({ images: 'charon-build:123', tag: 'charon:local' }))).toEqual({
      images: ['charon-build:123'],
      archive: '',
      tag: 'charon:local',
      name: 'docker-image',
      'retention-days': 1,
      compression: undefined, // as built; plain layers get zstd
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
    expect(readLoadInputs(reader({ expect: ` ${digest} `, tags: 'charon:local', repository: 'o/r', 'github-token': 't' }))).toEqual({
      name: 'docker-image',
      expect: digest,
      tags: ['charon:local'],
      store: '',
      'run-id': undefined,
      repository: 'o/r',
      'github-token': 't',
    });
    expect(readLoadInputs(reader({})).expect).toBeUndefined();
    expect(() => readLoadInputs(reader({ expect: 'latest' }))).toThrow(InvalidDigestError);
  });

  it('reads another run to load from, with its repository and a token', () => {
    expect(readLoadInputs(reader({ 'run-id': '123456', repository: 'octo/charon', 'github-token': 'ghs_x' }))['run-id']).toBe(123456);
    expect(() => readLoadInputs(reader({ 'run-id': 'latest', repository: 'o/r', 'github-token': 't' }))).toThrow(/run-id as a workflow run id \(digits\), found 'latest'/);
    expect(() => readLoadInputs(reader({ 'run-id': '12', repository: 'o/r' }))).toThrow(/needs a token with actions:read/);
    expect(() => readLoadInputs(reader({ 'run-id': '12', repository: 'charon', 'github-token': 't' }))).toThrow(/repository as owner\/name/);
  });
});
