import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { actionlint } from '../../support/actionlint.ts';
import { FIXTURES, fixture } from './fixtures.ts';

const names = readdirSync(`${FIXTURES}clean`).filter((name) => name.endsWith('.yml'));

describe.each(names)('clean/%s', (name) => {
  const text = fixture(`clean/${name}`);

  it('has no findings', () => {
    expect(checkWorkflows([{ path: name, text }]).findings).toEqual([]);
  });

  it('is a valid workflow for actionlint', async () => {
    expect(await actionlint(text, name)).toEqual([]);
  });
});
