/** Step outputs, keyed by their names in action.yml. Every value is a string, as the runner stores it. */
export interface ExportOutputs {
  'artifact-name': string;
  'artifact-id': string;
  'bundle-digest': string;
  'image-ids': string;
  bytes: string;
  'run-integration': string;
}

export interface LoadOutputs {
  'bundle-digest': string;
  'image-ids': string;
  tags: string;
}

/** Sets outputs in a stable order; `run-integration` is set last, once everything else is true. */
export function setOutputs<T extends object>(values: T, setOutput: (name: string, value: string) => void): void {
  for (const [name, value] of Object.entries(values)) setOutput(name, String(value));
}
