import { describe, expect, it } from 'vitest';
import { contextRefs, refsInExpressions } from '../../../src/workflow/expr/references.ts';
import { UNKNOWN, evaluate, truthy } from '../../../src/workflow/expr/evaluate.ts';
import { engineCommand } from '../../../src/workflow/shell/engine.ts';
import { parseScript, readScript } from '../../../src/workflow/shell/script.ts';
import { fileWrites } from '../../../src/workflow/shell/writes.ts';

const writes = (script: string): [string, string, boolean][] =>
  fileWrites(readScript(script)).map((w) => [w.name, w.value.kind === 'literal' ? String(w.value.value) : JSON.stringify(w.value), w.conditional]);

describe('parseScript', () => {
  it('keeps ${{ }} expressions whole and finds where words start', () => {
    const script = 'docker pull ${{ needs.build.outputs.image }} && echo ok';
    const [pull, echo] = parseScript(script);
    expect(pull?.words.map((w) => w.text)).toEqual(['docker', 'pull', '${{ needs.build.outputs.image }}']);
    expect(pull?.words[2]?.index).toBe(12);
    expect(pull?.conditional).toBe(false);
    expect(echo?.conditional).toBe(true);
  });

  it('reads docker subcommands in both spellings, and pipes into docker load', () => {
    const [gunzip, load] = parseScript('gunzip -c /tmp/x.tar.gz | docker image load');
    expect(load === undefined ? undefined : engineCommand(load)?.verb).toBe('load');
    expect(load?.pipedFrom).toBe(gunzip);
    const [inspect] = parseScript('sudo docker image inspect charon:local');
    expect(inspect === undefined ? undefined : engineCommand(inspect)?.args.map((w) => w.text)).toEqual(['charon:local']);
  });

  it('gives each command the condition it runs under, in expression terms', () => {
    const script = ['if [ "$EVENT" = push ] && [ -n "$TOKEN" ]; then', '  docker push app', 'elif [ "$EVENT" = pull_request ]; then', '  echo pr', 'else', '  exit 1', 'fi', 'echo done'].join('\n');
    const { commands, failsWhen } = readScript(script);
    const runs = (head: string, env: Record<string, string>): boolean | undefined => {
      const command = commands.find((c) => c.words.slice(0, 2).map((w) => w.text).join(' ').startsWith(head));
      const resolver = { context: () => UNKNOWN, shellVar: (name: string) => env[name] ?? '', opaque: () => UNKNOWN, status: () => true };
      return command === undefined ? undefined : truthy(evaluate(command.path, resolver));
    };
    expect(runs('docker push', { EVENT: 'push', TOKEN: 't' })).toBe(true);
    expect(runs('docker push', { EVENT: 'push' })).toBe(false);
    expect(runs('echo pr', { EVENT: 'pull_request' })).toBe(true);
    expect(runs('echo pr', { EVENT: 'push', TOKEN: 't' })).toBe(false);
    // After the if, only the paths that did not exit reach `echo done`.
    expect(runs('echo done', { EVENT: 'schedule' })).toBe(false);
    expect(runs('echo done', { EVENT: 'pull_request' })).toBe(true);
    const resolver = { context: () => UNKNOWN, shellVar: (name: string) => ({ EVENT: 'schedule' })[name] ?? '', opaque: () => UNKNOWN, status: () => true };
    expect(truthy(evaluate(failsWhen, resolver))).toBe(true);
  });

  it('skips heredoc bodies and keeps them on their command', () => {
    const [build, after] = parseScript('docker build -t x - <<EOF\nFROM busybox\nRUN true\nEOF\necho done');
    expect(build?.heredoc?.body).toBe('FROM busybox\nRUN true\n');
    expect(after?.words[0]?.text).toBe('echo');
  });
});

describe('fileWrites', () => {
  it('knows which writes happen only under a condition', () => {
    const script = ['echo "a=1" >> "$GITHUB_OUTPUT"', 'if [ "$X" = 1 ]; then', '  echo "b=" >> $GITHUB_OUTPUT', 'fi', 'echo "c=3" >> $GITHUB_OUTPUT'].join('\n');
    expect(writes(script)).toEqual([
      ['a', '1', false],
      ['b', '', true],
      ['c', '3', false],
    ]);
  });

  it('reads heredoc values, groups, tee and cat <<EOF', () => {
    expect(writes(['echo "tags<<EOF" >> "$GITHUB_OUTPUT"', 'echo "app:1" >> "$GITHUB_OUTPUT"', 'echo "EOF" >> "$GITHUB_OUTPUT"'].join('\n')).map((w) => w[0])).toEqual(['tags']);
    expect(writes('{\n  echo "a=1"\n  echo "b=2"\n} >> "$GITHUB_OUTPUT"').map((w) => w.slice(0, 2))).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(writes('echo "ref=x" | tee -a "$GITHUB_OUTPUT"').map((w) => w.slice(0, 2))).toEqual([['ref', 'x']]);
    expect(writes('cat >> "$GITHUB_OUTPUT" <<EOF\nimage=app:1\nEOF').map((w) => w.slice(0, 2))).toEqual([['image', 'app:1']]);
    expect(fileWrites(readScript('echo "IMAGE=app:1" >> "$GITHUB_ENV"')).map((w) => w.file)).toEqual(['env']);
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
