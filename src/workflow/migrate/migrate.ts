import { collectFacts } from '../handover.ts';
import { readWorkflow } from '../model.ts';
import { parseSource } from '../source.ts';
import { applyEdits } from './apply.ts';
import { planMigration, type MigrateOptions } from './plan.ts';

export interface MigrateResult {
  text: string;
  changed: boolean;
  notes: string[];
}

/** Rewrites one workflow's text onto the handover. Pure; running it on its own output changes nothing. */
export function migrateWorkflow(path: string, text: string, options: MigrateOptions): MigrateResult {
  const workflow = readWorkflow(parseSource(path, text));
  const plan = planMigration(workflow, collectFacts(workflow), options);
  const migrated = applyEdits(text, plan.edits);
  return { text: migrated, changed: migrated !== text, notes: plan.notes };
}
