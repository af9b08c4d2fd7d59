/** A unified diff of two texts by lines (LCS), as `diff -u` and `git apply` read it. */

type Op = { kind: ' ' | '-' | '+'; line: string };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function editScript(a: readonly string[], b: readonly string[]): Op[] {
  // Trim the common head and tail so the table only covers the changed middle.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const width = y.length + 1;
  const table = new Uint32Array((x.length + 1) * width);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      table[i * width + j] = x[i] === y[j] ? (table[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(table[(i + 1) * width + j] ?? 0, table[i * width + j + 1] ?? 0);
    }
  }
  const ops: Op[] = a.slice(0, head).map((line) => ({ kind: ' ', line }));
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      ops.push({ kind: ' ', line: x[i++] ?? '' });
      j++;
    } else if (i < x.length && (j >= y.length || (table[(i + 1) * width + j] ?? 0) >= (table[i * width + j + 1] ?? 0))) {
      ops.push({ kind: '-', line: x[i++] ?? '' });
    } else {
      ops.push({ kind: '+', line: y[j++] ?? '' });
    }
  }
  return ops.concat(a.slice(a.length - tail).map((line) => ({ kind: ' ', line })));
}

export function unifiedDiff(before: string, after: string, fromName: string, toName: string, context = 3): string {
  if (before === after) return '';
  const ops = editScript(splitLines(before), splitLines(after));
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter((index) => index !== -1);
  const hunks: [number, number][] = [];
  for (const index of changed) {
    const start = Math.max(0, index - context);
    const end = Math.min(ops.length, index + context + 1);
    const last = hunks.at(-1);
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else hunks.push([start, end]);
  }
  const out = [`--- ${fromName}`, `+++ ${toName}`];
  for (const [start, end] of hunks) {
    const before = ops.slice(0, start);
    const oldStart = before.filter((op) => op.kind !== '+').length + 1;
    const newStart = before.filter((op) => op.kind !== '-').length + 1;
    const body = ops.slice(start, end);
    const oldCount = body.filter((op) => op.kind !== '+').length;
    const newCount = body.filter((op) => op.kind !== '-').length;
    out.push(`@@ -${oldCount === 0 ? oldStart - 1 : oldStart},${oldCount} +${newCount === 0 ? newStart - 1 : newStart},${newCount} @@`);
    out.push(...body.map((op) => `${op.kind}${op.line}`));
  }
  return `${out.join('\n')}\n`;
}

/**
 * The names a diff gives the file, so that `git apply` and `patch -p1` find
 * it: `a/<path>` relative to the working directory when the file is inside
 * it, else relative to the root directory (apply it from `/`). Never
 * `a//tmp/…`, which neither tool accepts.
 */
export function diffLabels(cwd: string, absolutePath: string): { from: string; to: string; base: string } {
  const relativePath = posixRelative(cwd, absolutePath);
  const inside = relativePath !== '' && !relativePath.startsWith('..');
  const path = inside ? relativePath : absolutePath.replace(/\\/g, '/').replace(/^[A-Za-z]:/, '').replace(/^\/+/, '');
  return { from: `a/${path}`, to: `b/${path}`, base: inside ? cwd : '/' };
}

function posixRelative(from: string, to: string): string {
  const a = from.replace(/\\/g, '/').replace(/\/+$/, '').split('/');
  const b = to.replace(/\\/g, '/').split('/');
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => '..'), ...b.slice(common)].join('/');
}
