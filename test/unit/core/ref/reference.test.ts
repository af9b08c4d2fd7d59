import { describe, expect, it } from 'vitest';
import { ExitStatus } from '../../../../src/errors.ts';
import {
  familiarRepository,
  familiarTag,
  isImageId,
  parseReference,
  parseTagReference,
  qualifiedRepository,
  qualifiedTag,
  requireNonEmpty,
} from '../../../../src/ref/reference.ts';
import { typedThrow } from '../support.ts';

const HEX = 'a'.repeat(64);

describe('parseReference: valid references', () => {
  it.each([
    ['charon', 'docker.io', 'library/charon', undefined, undefined],
    ['charon:local', 'docker.io', 'library/charon', 'local', undefined],
    ['user/app:1.2.3', 'docker.io', 'user/app', '1.2.3', undefined],
    ['registry:5000/a/b:tag', 'registry:5000', 'a/b', 'tag', undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/app:v1', 'localhost:5000', 'app', 'v1', undefined],
    ['ghcr.io/org/charon:pr-12', 'ghcr.io', 'org/charon', 'pr-12', undefined],
    [`ghcr.io/org/charon@sha256:${HEX}`, 'ghcr.io', 'org/charon', undefined, `sha256:${HEX}`],
    [`charon:local@sha256:${HEX}`, 'docker.io', 'library/charon', 'local', `sha256:${HEX}`],
    ['my_app__x.y-z---w:Tag_1.A-b', 'docker.io', 'library/my_app__x.y-z---w', 'Tag_1.A-b', undefined],
    ['[::1]:5000/app:1', '[::1]:5000', 'app', '1', undefined],
  ])('%s', (input, domain, path, tag, digest) => {
    expect(parseReference(input)).toEqual({ domain, path, tag, digest, original: input });
  });

  it('trims surrounding white space (a CI output with a newline)', () => {
    expect(parseReference('  charon:local\n')).toMatchObject({ path: 'library/charon', tag: 'local', original: 'charon:local' });
  });

  it('accepts a tag of 128 characters and a name of 255', () => {
    expect(parseReference(`a:${'t'.repeat(128)}`).tag).toHaveLength(128);
    expect(parseReference('a'.repeat(255)).path).toBe(`library/${'a'.repeat(255)}`);
  });
});

describe('normalization', () => {
  it.each([
    ['charon', 'charon', 'docker.io/library/charon'],
    ['docker.io/library/charon', 'charon', 'docker.io/library/charon'],
    ['docker.io/charon', 'charon', 'docker.io/library/charon'],
    ['library/charon', 'charon', 'docker.io/library/charon'],
    ['user/app', 'user/app', 'docker.io/user/app'],
    ['ghcr.io/o/charon', 'ghcr.io/o/charon', 'ghcr.io/o/charon'],
    ['localhost:5000/app', 'localhost:5000/app', 'localhost:5000/app'],
  ])('%s is %s, fully %s', (input, familiar, qualified) => {
    const ref = parseReference(input);
    expect(familiarRepository(ref)).toBe(familiar);
    expect(qualifiedRepository(ref)).toBe(qualified);
  });

  it('gives familiar and qualified tags', () => {
    const ref = parseTagReference('docker.io/library/charon:local');
    expect(familiarTag(ref)).toBe('charon:local');
    expect(qualifiedTag(ref)).toBe('docker.io/library/charon:local');
    expect(familiarTag(parseTagReference('ghcr.io/o/c:1'))).toBe('ghcr.io/o/c:1');
  });
});

describe('empty references', () => {
  it.each([[''], ['   '], ['\n\t'], [undefined]])('%j is REF_EMPTY, exit 2, with the CI-output hint', (value) => {
    const error = typedThrow(() => parseReference(value, '--tag'), 'REF_EMPTY');
    expect(error.exitStatus).toBe(ExitStatus.usage);
    expect(error.message).toContain('--tag');
    expect(error.hint).toMatch(/CI output/);
    expect(error.name).toBe('EmptyReferenceError');
  });

  it('requireNonEmpty returns the trimmed value', () => {
    expect(requireNonEmpty(' x ', 'it')).toBe('x');
    typedThrow(() => requireNonEmpty('', 'the source'), 'REF_EMPTY');
  });

  it('parseTagReference refuses empty too', () => {
    typedThrow(() => parseTagReference(''), 'REF_EMPTY');
  });
});

describe('malformed references (what Docker calls invalid reference format)', () => {
  it.each([
    ['Charon', /lowercase/],
    ['charon/App:1', /lowercase/],
    ['charon app', /white space/],
    ['charon:local tag', /white space/],
    ['charon:', /not a valid tag/],
    [':tag', /repository name is missing/],
    ['charon/', /not a valid name component/],
    ['/charon', /not a valid name component/],
    ['a//b', /not a valid name component/],
    ['charon:-bad', /not a valid tag/],
    ['charon:a+b', /not a valid tag/],
    [`charon:${'t'.repeat(129)}`, /not a valid tag/],
    ['charon:tag:extra', /not a valid name component/],
    ['-charon', /not a valid name component/],
    ['charon-', /not a valid name component/],
    ['char..on', /not a valid name component/],
    ['charon@sha256:xyz', /not a digest/],
    ['charon@', /not a digest/],
    ['charon@sha256:abc', /not a digest/],
    ['@sha256:' + HEX, /repository name is missing/],
    ['bad_host.:5000/app', /not a registry host/],
    ['host:port/app', /not a registry host/],
    ['a'.repeat(256), /longer than 255/],
    ['ch@ron', /not a digest/],
    ['charon!', /not a valid name component/],
  ])('%s → REF_INVALID (%s)', (input, why) => {
    const error = typedThrow(() => parseReference(input), 'REF_INVALID');
    expect(error.exitStatus).toBe(ExitStatus.usage);
    expect(error.message).toMatch(why);
    expect(error.message).toContain(`'${input}'`);
    expect(error.hint).toMatch(/name\[:tag\]/);
    expect(error.details).toEqual({ reference: input });
  });
});

describe('parseTagReference', () => {
  it('adds :latest when no tag is given', () => {
    expect(parseTagReference('charon')).toMatchObject({ tag: 'latest', path: 'library/charon' });
    expect(parseTagReference('charon:local').tag).toBe('local');
  });

  it('refuses a digest', () => {
    const error = typedThrow(() => parseTagReference(`charon@sha256:${HEX}`), 'REF_INVALID');
    expect(error.message).toMatch(/cannot carry a digest/);
    typedThrow(() => parseTagReference(`charon:local@sha256:${HEX}`), 'REF_INVALID');
  });
});

describe('isImageId', () => {
  it.each([
    [`sha256:${HEX}`, true],
    [HEX, true],
    ['0123456789ab', true],
    [' 0123456789ab ', true],
    ['0123456789a', false],
    [`${HEX}0`, false],
    ['0123456789AB', false],
    ['charon', false],
    ['charon:local', false],
    ['sha256:', false],
    ['', false],
  ])('%j → %s', (value, expected) => {
    expect(isImageId(value)).toBe(expected);
  });
});
