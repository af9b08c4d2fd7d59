import type { Position } from './source.ts';

export type Level = 'error' | 'warning' | 'note';

/** A place where a workflow breaks the handover contract. A value: collected, never thrown. */
export interface Finding extends Position {
  ruleId: string;
  level: Level;
  message: string;
  path: string;
  /** Offset in the file, for excerpts and sorting. */
  offset: number;
}

export function compareFindings(a: Finding, b: Finding): number {
  return a.path.localeCompare(b.path) || a.line - b.line || a.col - b.col || a.ruleId.localeCompare(b.ruleId);
}
