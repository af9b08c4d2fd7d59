/** Just enough of GitHub's `${{ }}` expression language to follow values between jobs and steps. */

export interface ExpressionSpan {
  /** Index of `${{` in the containing string. */
  start: number;
  /** Index just past `}}`. */
  end: number;
  /** The text between the braces. */
  body: string;
}

export function findExpressions(value: string): ExpressionSpan[] {
  const spans: ExpressionSpan[] = [];
  let from = 0;
  for (;;) {
    const start = value.indexOf('${{', from);
    if (start === -1) return spans;
    const close = value.indexOf('}}', start + 3);
    if (close === -1) return spans;
    spans.push({ start, end: close + 2, body: value.slice(start + 3, close) });
    from = close + 2;
  }
}

/** A reference such as `needs.build.outputs.ref` or `steps.policy.outcome`. */
export interface ContextRef {
  context: 'needs' | 'steps';
  /** The job id (needs) or step id (steps). */
  id: string;
  /** `outputs`, `result`, `outcome` or `conclusion`. */
  property: string;
  /** The output name when property is `outputs`. */
  output: string | undefined;
  /** Index of the reference in the string it was found in. */
  index: number;
  text: string;
}

const IDENT = String.raw`[A-Za-z_][A-Za-z0-9_-]*`;
const PART = String.raw`(?:\.(${IDENT})|\[\s*'([^']*)'\s*\])`;
const REF = new RegExp(String.raw`\b(needs|steps)${PART}${PART}(?:${PART})?`, 'g');

/** Context references in an expression body (or any string holding expressions). */
export function contextRefs(text: string, baseIndex = 0): ContextRef[] {
  const refs: ContextRef[] = [];
  for (const match of text.matchAll(REF)) {
    const id = match[2] ?? match[3];
    const property = match[4] ?? match[5];
    const output = match[6] ?? match[7];
    if (id === undefined || property === undefined) continue;
    refs.push({
      context: match[1] as 'needs' | 'steps',
      id,
      property,
      output: property === 'outputs' ? output : undefined,
      index: baseIndex + (match.index ?? 0),
      text: match[0],
    });
  }
  return refs;
}

/** References inside the `${{ }}` spans of a string, with indices into that string. */
export function refsInExpressions(value: string): ContextRef[] {
  return findExpressions(value).flatMap((span) => contextRefs(span.body, span.start + 3));
}

/**
 * The expression of an `if:` value: GitHub evaluates a bare `if:` string as an
 * expression, and `${{ }}` around it is optional.
 */
export function conditionRefs(value: string): ContextRef[] {
  return value.includes('${{') ? refsInExpressions(value) : contextRefs(value);
}
