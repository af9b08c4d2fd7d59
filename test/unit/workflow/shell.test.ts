import { describe, expect, it } from 'vitest';
import { contextRefs, refsInExpressions } from '../../../src/workflow/expressions.ts';
import { engineCommand, outputWrites, parseScript } from '../../../src/workflow/shell.ts';

describe('parseScript', () => {
  it('keeps ${{ }} expressions whole and finds where words start', () => {
    const script = 'docker pull ${{ needs.build.outputs.image }} && echo ok';
    const [pull, echo] = parseScript(script);
    expect(pull?.words.map((w) => w.text)).toEqual(['docker', 'pull', '${{ needs.build.outputs.image }}']);
    expect(pull?.words[2]?.index).toBe(12);
    expect(pull?.conditional).toBe(true);
    expect(echo?.conditional).toBe(true);
  });

  it('knows which commands run only under a condition', () => {
    const script = ['echo "a=1" >> "$GITHUB_OUTPUT"', 'if [ "$X" = 1 ]; then', '  echo "b=" >> $GITHUB_OUTPUT', 'fi', 'echo "c=3" >> $GITHUB_OUTPUT'].join('\n');
    expect(outputWrites(parseScript(script)).map((w) => [w.name, w.value, w.conditional])).toEqual([
      ['a', '1', false],
      ['b', '', true],
      ['c', '3', false],
    ]);
  });

  it('reads docker subcommands in both spellings, and pipes into docker load', () => {
    const [gunzip, load] = parseScript('gunzip -c /tmp/x.tar.gz | docker image load');
    expect(load === undefined ? undefined : engineCommand(load)?.verb).toBe('load');
    expect(load?.pipedFrom).toBe(gunzip);
    const [inspect] = parseScript('sudo docker image inspect charon:local');
    expect(inspect === undefined ? undefined : engineCommand(inspect)?.args.map((w) => w.text)).toEqual(['charon:local']);
  });
});

describe('expression references', () => {
  it('finds needs and steps references, dotted or bracketed', () => {
    expect(contextRefs("needs.build-image.outputs.image_ref == '' && steps['policy'].outputs['push']").map((r) => [r.context, r.id, r.output])).toEqual([
      ['needs', 'build-image', 'image_ref'],
      ['steps', 'policy', 'push'],
    ]);
  });

  it('only inside ${{ }} in ordinary strings', () => {
    expect(refsInExpressions('needs.a.outputs.b ${{ steps.c.outputs.d }}').map((r) => r.id)).toEqual(['c']);
  });
});
