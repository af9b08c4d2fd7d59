/** What migrate is asked to do, and what it reports back. */
import type { TextEdit } from './apply.ts';

export type MigrateStyle = 'action' | 'steps';

export interface MigrateOptions {
  style: MigrateStyle;
  /** The tag consumers load; derived from the pipeline when not given. */
  tag?: string;
  /** The artifact name. */
  artifact?: string;
}

/** Jobs migrate is told to leave alone (after an invariant failed on them). */
export interface Leave {
  producers: Set<string>;
  consumers: Set<string>;
}

/** A step migrate adds, and the condition it must carry. */
export interface AddedStep {
  job: string;
  name: string;
  condition: string | undefined;
}

export interface MigratePlan {
  edits: TextEdit[];
  /** What was done and what was left, one line each, for the summary. */
  notes: string[];
  /** Consumers converted, by producer. */
  converted: Map<string, string[]>;
  added: AddedStep[];
}
