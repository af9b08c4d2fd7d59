import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WorkflowParseError } from '../../../src/errors.ts';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { migrateWorkflow } from '../../../src/workflow/migrate/migrate.ts';
import { runs } from './fuzz.ts';

const corpus = new URL('../../fixtures/workflows/corpus/', import.meta.url);
const workflows = readdirSync(corpus)
  .filter((name) => name.endsWith('.yml'))
  .map((name) => readFileSync(new URL(name, corpus), 'utf8'));

/** A corpus workflow with lines dropped, duplicated or cut short: still YAML often, rarely a sensible workflow. */
const mangled = fc
  .tuple(fc.constantFrom(...workflows), fc.array(fc.tuple(fc.nat(), fc.constantFrom('drop', 'twice', 'cut')), { maxLength: 6 }))
  .map(([text, edits]) => {
    const lines = text.split('\n');
    for (const [at, edit] of edits) {
      const index = at % lines.length;
      const line = lines[index] ?? '';
      if (edit === 'drop') lines.splice(index, 1);
      else if (edit === 'twice') lines.splice(index, 0, line);
      else lines[index] = line.slice(0, Math.floor(line.length / 2));
    }
    return lines.join('\n');
  });

/** Only a parse error is an acceptable failure: anything else is a bug in the model. */
function parsesOrRefuses(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(WorkflowParseError);
  }
}

describe('check and migrate on mangled workflows', () => {
  it('report findings or refuse the file as not a workflow, and never fail otherwise', () => {
    fc.assert(
      fc.property(mangled, fc.constantFrom('action' as const, 'steps' as const), (text, style) => {
        parsesOrRefuses(() => checkWorkflows([{ path: 'ci.yml', text }]));
        parsesOrRefuses(() => migrateWorkflow('ci.yml', text, { style }));
      }),
      runs(150),
    );
  }, 60_000); // 150 workflows checked and migrated: seconds alone, more on a busy machine
});
