import { WorkflowParseError } from '../../errors.ts';
import { buildModel, type WorkflowModel } from '../model/index.ts';
import { parseSource } from '../source.ts';
import { OverlappingEditsError, applyEdits } from './apply.ts';
import { checkInvariants } from './invariants.ts';
import { planMigration, type Leave, type MigrateOptions } from './plan.ts';
import { FileStyle } from './style.ts';

/** The actions migrate wrote that the user must pin, as the file pins every other one. */
function pinNotes(before: WorkflowModel, migrated: string): string[] {
  const style = new FileStyle(before.workflow);
  const added = [...migrated.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)/gm)].map((m) => m[1] ?? '').filter((uses) => !before.workflow.file.text.includes(uses));
  return [...new Set(added)].map((uses) => style.noteFor(uses)).filter((note): note is string => note !== undefined).map((note) => `You must ${note}`);
}

export interface MigrateResult {
  text: string;
  changed: boolean;
  /** What was done, what was left and why, and what the user must still do. */
  notes: string[];
}

/**
 * Rewrites one workflow's text onto the handover. Pure. The result is checked
 * against migrate's invariants before it is returned; where a conversion
 * breaks one, that consumer (or producer) is left as it was and a note says
 * why, and the rest is planned again.
 */
export function migrateWorkflow(path: string, text: string, options: MigrateOptions): MigrateResult {
  const before = buildModel(parseSource(path, text));
  const leave: Leave = { producers: new Set(), consumers: new Set() };
  const left: string[] = [];
  for (let attempt = 0; attempt <= before.workflow.jobs.length; attempt++) {
    const plan = planMigration(before, options, leave);
    if (plan.edits.length === 0) return { text, changed: false, notes: [...plan.notes, ...left] };
    let migrated = text;
    let violations;
    try {
      migrated = applyEdits(text, plan.edits);
      violations = checkInvariants(before, buildModel(parseSource(path, migrated)), plan, options, leave);
    } catch (error) {
      if (!(error instanceof WorkflowParseError) && !(error instanceof OverlappingEditsError)) throw error;
      const why = error instanceof OverlappingEditsError ? 'its edits would overlap (a bug in migrate: please report it)' : `the result would not be a valid workflow (${error.message})`;
      violations = [...plan.converted.keys()].map((producer) => ({ consumer: undefined, producer, message: `${why}.` }));
    }
    if (violations.length === 0) return { text: migrated, changed: true, notes: [...plan.notes, ...left, ...pinNotes(before, migrated)] };
    for (const violation of violations) {
      if (violation.consumer !== undefined) {
        if (leave.consumers.has(violation.consumer)) continue;
        leave.consumers.add(violation.consumer);
        left.push(`${violation.consumer}: left as it is — ${violation.message}`);
      } else if (!leave.producers.has(violation.producer)) {
        leave.producers.add(violation.producer);
        left.push(`${violation.producer}: left as it is, with its consumers — ${violation.message}`);
      }
    }
  }
  return { text, changed: false, notes: left };
}
