import { describe, expect, it } from 'vitest';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { migrateWorkflow } from '../../../src/workflow/migrate/migrate.ts';
import type { MigrateStyle } from '../../../src/workflow/migrate/plan.ts';
import { actionlint } from '../../support/actionlint.ts';
import { fixture } from './fixtures.ts';

const variant = fixture('migrate/variant.yml');

describe.each<MigrateStyle>(['action', 'steps'])('migrate --style %s on a differently written pipeline', (style) => {
  const { text } = migrateWorkflow('variant.yml', variant, { style });

  it('passes check and actionlint, and a second run changes nothing', async () => {
    expect(checkWorkflows([{ path: 'variant.yml', text }]).findings).toEqual([]);
    expect(await actionlint(text, 'variant.yml')).toEqual([]);
    expect(migrateWorkflow('variant.yml', text, { style }).changed).toBe(false);
  });

  it('keeps the push-policy gate output as it was, adds one for the handover and re-gates the consumer on it', () => {
    expect(text).toContain("      integration: '${{ steps.policy.outputs.push }}'\n");
    expect(text).toMatch(/^ {6}image-handover: \$\{\{ steps\.[a-z-]+\.(outputs\.run-integration|outcome == 'success') \}\}$/m);
    expect(text).toContain("    if: needs.build.outputs.image-handover == 'true'\n");
  });

  it('removes the login with the comment that described it, keeps blank lines between steps', () => {
    expect(text).not.toContain('# Registry credentials for the pull below.');
    expect(text).not.toContain('docker login');
    expect(text).toContain('      - uses: actions/checkout@v4\n\n');
    expect(text).toContain('\n\n      - name: Test\n        run: make e2e\n');
  });

  it('derives the local tag from the repository and copies the build inputs', () => {
    expect(text).toContain('webapp:local');
    expect(text).toContain('          build-args: |\n            VERSION=${{ github.sha }}\n            CHANNEL=ci\n');
  });
});

describe('migrate --tag', () => {
  it('uses the tag given', () => {
    const { text } = migrateWorkflow('variant.yml', variant, { style: 'steps', tag: 'web:ci' });
    expect(text).toContain('docker image inspect web:ci');
    expect(text).toContain('dest=/tmp/web.tar');
  });
});
