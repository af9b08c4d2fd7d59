import { describe, expect, it } from 'vitest';
import { UNKNOWN, evaluate, truthy, type Resolver, type Value } from '../../../src/workflow/expr/evaluate.ts';
import { formatExpression, negate, parseCondition, parseExpression, parseTemplate, type Expr } from '../../../src/workflow/expr/syntax.ts';
import { diffLabels } from '../../../src/workflow/migrate/diff.ts';
import { FileStyle } from '../../../src/workflow/migrate/style.ts';
import { artifactRoot, downloadedFiles, isUnder } from '../../../src/workflow/model/channels.ts';
import { Evaluation, stepScope } from '../../../src/workflow/model/dataflow.ts';
import { buildModel, type WorkflowModel } from '../../../src/workflow/model/index.ts';
import { solve } from '../../../src/workflow/model/solver.ts';
import { render } from '../../../src/workflow/model/symbols.ts';
import { jobById } from '../../../src/workflow/model/workflow.ts';
import { parseSource } from '../../../src/workflow/source.ts';

function model(text: string): WorkflowModel {
  return buildModel(parseSource('ci.yml', text));
}

function value(expr: string, contexts: Record<string, Value> = {}): Value {
  const resolver: Resolver = {
    context: (path) => contexts[path.join('.')] ?? UNKNOWN,
    shellVar: () => UNKNOWN,
    opaque: () => UNKNOWN,
    status: (name) => name !== 'failure' && name !== 'cancelled',
  };
  return evaluate(parseExpression(expr), resolver);
}

describe('expressions', () => {
  it('follow GitHub: && and || return an operand, == coerces to numbers across types, strings compare case-insensitively', () => {
    expect(value("'' || 'app:local'")).toBe('app:local');
    expect(value("'a' && 'b'")).toBe('b');
    expect(value("steps.p.outputs.push == true", { 'steps.p.outputs.push': 'true' })).toBe(false);
    expect(value("'1' == 1")).toBe(true);
    expect(value("'PUSH' == 'push'")).toBe(true);
    expect(value("!(a == 'x') && b", { a: 'y', b: 'z' })).toBe('z');
    expect(value("contains('refs/heads/main', 'MAIN')")).toBe(true);
  });

  it('keep what is unknown unknown, but decide when one side settles it', () => {
    expect(truthy(value('x && false'))).toBe(false);
    expect(truthy(value("x || 'set'"))).toBe(true);
    expect(truthy(value("x == 'a'"))).toBeUndefined();
  });

  it('read bare and wrapped if: conditions alike, and write negations back', () => {
    const bare = parseCondition("github.event_name != 'pull_request' || inputs.force");
    const wrapped = parseCondition("${{ github.event_name != 'pull_request' || inputs.force }}");
    expect(wrapped).toEqual(bare);
    expect(formatExpression(negate(parseCondition("inputs.image == ''")))).toBe("inputs.image != ''");
    expect(formatExpression(negate(bare))).toBe("!(github.event_name != 'pull_request' || inputs.force)");
  });

  it('read templates as text with expression parts', () => {
    const template: Expr = parseTemplate('ghcr.io/acme/app:${{ github.sha }}');
    expect(template.kind).toBe('concat');
  });
});

const PUSH_POLICY = `on: [push, pull_request]
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      ref: \${{ steps.ref.outputs.ref }}
      pushed: \${{ steps.policy.outputs.push }}
    steps:
      - id: policy
        run: |
          if [ "\${{ github.event_name }}" = push ]; then
            echo "push=true" >> "$GITHUB_OUTPUT"
          else
            echo "push=false" >> "$GITHUB_OUTPUT"
          fi
      - id: ref
        env:
          PUSH: \${{ steps.policy.outputs.push }}
        run: |
          [ "$PUSH" = true ] || exit 0
          {
            echo "ref<<EOF"
            echo "ghcr.io/acme/app:$GITHUB_SHA"
            echo "EOF"
          } >> "$GITHUB_OUTPUT"
  use:
    needs: build
    runs-on: ubuntu-latest
    strategy:
      matrix:
        suite: [unit, e2e]
    steps:
      - run: echo "IMAGE=\${{ needs.build.outputs.ref }}" >> "$GITHUB_ENV"
      - run: docker run "$IMAGE" \${{ matrix.suite }}
`;

describe('the data flow', () => {
  const m = model(PUSH_POLICY);
  const use = jobById(m.workflow, 'use');
  const build = jobById(m.workflow, 'build');
  const runStep = use?.steps[1];

  it('follows needs outputs to a heredoc written in a group after an early exit, and $GITHUB_ENV to the next step', () => {
    if (use === undefined || runStep === undefined) throw new Error('fixture');
    const image: Expr = { kind: 'shellVar', name: 'IMAGE' };
    const push = new Evaluation(m.flow, new Map([['needs.build.result', 'success'], ['github.event_name', 'push'], ['github.sha', 'abc']]));
    expect(push.value(image, stepScope(use, runStep))).toBe('ghcr.io/acme/app:abc');
    const pr = new Evaluation(m.flow, new Map([['needs.build.result', 'success'], ['github.event_name', 'pull_request']]));
    expect(pr.value(image, stepScope(use, runStep))).toBe('');
  });

  it('answers whether a reference can be empty where it is used, with the run that makes it so', () => {
    if (use === undefined || runStep === undefined || build === undefined) throw new Error('fixture');
    const empty = (guard: string): boolean | undefined =>
      solve(m.flow, [
        { expr: parseCondition(guard), scope: { level: 'job', job: use } },
        { expr: { kind: 'compare', op: '==', left: { kind: 'shellVar', name: 'IMAGE' }, right: { kind: 'literal', value: '' } }, scope: stepScope(use, runStep) },
      ]).satisfiable;
    expect(empty('true')).toBe(true);
    expect(empty("needs.build.outputs.pushed == 'true'")).toBe(false);
    expect(empty("(github.event_name != 'pull_request' || matrix.suite == 'e2e') && needs.build.outputs.ref != ''")).toBe(false);
    expect(empty("github.event_name == 'schedule' || needs.build.outputs.ref != ''")).toBe(true);
  });

  it('renders the same image alike through env, outputs and shell variables', () => {
    if (use === undefined || runStep === undefined) throw new Error('fixture');
    expect(render(m.flow, { kind: 'shellVar', name: 'IMAGE' }, stepScope(use, runStep))).toBe('ghcr.io/acme/app:{github.sha}');
  });
});

describe('registry channels', () => {
  it('link a job that runs after the push and names the pushed repository, not one that merely pulls :latest', () => {
    const m = model(`on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: ghcr.io/acme/app:\${{ github.sha }},ghcr.io/acme/app:latest
  warm-cache:
    runs-on: ubuntu-latest
    steps:
      - run: docker pull ghcr.io/acme/app:latest || true
  after:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: docker run --rm ghcr.io/acme/app:latest --version
`);
    expect(m.channels.receipts.map((r) => `${r.channel.kind}:${r.channel.producer.id}->${r.consumer.id}`)).toEqual(['registry:build->after']);
  });
});

describe('artifact paths', () => {
  it('are relative to the upload root: a file\'s directory, the directory uploaded, their common ancestor', () => {
    expect(artifactRoot(['/tmp/app.tar'])).toBe('/tmp');
    expect(artifactRoot(['/tmp/images/'])).toBe('/tmp/images');
    expect(artifactRoot(['/tmp/a/x.tar', '/tmp/b/y.tar'])).toBe('/tmp');
  });

  it('cover a file when it is the path, below the directory, or matched by the glob', () => {
    expect(isUnder('/tmp/svc.tar', '/tmp/*.tar')).toBe(true);
    expect(isUnder('/tmp/a/svc.tar', '/tmp/*.tar')).toBe(false);
    expect(isUnder('/tmp/a/svc.tar', '/tmp/**/*.tar')).toBe(true);
    expect(isUnder('${{ github.workspace }}/out/app.tar', 'out')).toBe(true);
  });

  it('land under the download path, in a directory of the artifact name when the download names none', () => {
    const m = model(`on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: docker save app:ci -o /tmp/images/app.tar
      - uses: actions/upload-artifact@v4
        with:
          name: images
          path: /tmp/images/
          retention-days: 1
  named:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: images
          path: /in
  all:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          path: /in
`);
    const [channel] = m.channels.channels;
    const files = (job: string): string[] => {
      const download = m.facts.downloads.find((d) => d.job.id === job);
      return channel === undefined || download === undefined ? [] : downloadedFiles(channel, download);
    };
    expect(files('named')).toEqual(['/in/app.tar']);
    expect(files('all')).toEqual(['/in/images/app.tar']);
  });
});

describe("the file's style", () => {
  const pinned = model(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0
      - uses: actions/download-artifact@634f93cb2916e3fdff6788551b99b062d0335ce0 # v5.0.0
`);

  it('reuses a pin the file has, takes the paired major, and says what to pin', () => {
    const style = new FileStyle(pinned.workflow);
    expect(style.pinsBySha).toBe(true);
    expect(style.action('actions/download-artifact')).toEqual({ uses: 'actions/download-artifact@634f93cb2916e3fdff6788551b99b062d0335ce0', comment: 'v5.0.0' });
    const upload = style.action('actions/upload-artifact');
    expect(upload.uses).toBe('actions/upload-artifact@v5');
    expect(style.noteFor(upload.uses)).toMatch(/^pin actions\/upload-artifact@v5 to a commit SHA/);
    expect(style.noteFor('actions/download-artifact@634f93cb2916e3fdff6788551b99b062d0335ce0')).toBeUndefined();
  });
});

describe('diff labels', () => {
  it('name a file inside the working directory relative to it, and any other from the root', () => {
    expect(diffLabels('/work/repo', '/work/repo/.github/workflows/ci.yml')).toEqual({ from: 'a/.github/workflows/ci.yml', to: 'b/.github/workflows/ci.yml', base: '/work/repo' });
    expect(diffLabels('/work/repo', '/tmp/ci.yml')).toEqual({ from: 'a/tmp/ci.yml', to: 'b/tmp/ci.yml', base: '/' });
  });
});
