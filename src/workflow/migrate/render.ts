/** Writes the few YAML shapes migrate adds: steps of scalar keys and one-level `with:` maps. */

export type StepValue = string | number | boolean;

export interface NewStep {
  /** Keys in order; `with` holds the inputs. */
  fields: [string, StepValue][];
  /** A comment written after a field's value (`uses: …@<sha> # v6.0.0`). */
  comments?: Record<string, string>;
  with?: [string, StepValue][];
  /** Input lines copied verbatim from another step (already indented for `with:`). */
  copiedInputs?: string;
  /** `env:` entries copied verbatim from another step (already indented for `env:`). */
  copiedEnv?: string;
}

/** Plain when YAML reads the text back as the same string, double-quoted otherwise. */
export function yamlScalar(value: StepValue): string {
  if (typeof value !== 'string') return String(value);
  const plainSafe =
    value !== '' &&
    !value.includes('\n') &&
    !/^[\s\-?:,[\]{}#&*!|>'"%@`]/.test(value) &&
    !/(:\s|\s#|\s$|:$)/.test(value) &&
    !/^(true|false|null|yes|no|on|off|~|[-+]?[0-9.]+)$/i.test(value);
  return plainSafe || (value.startsWith('${{') && !value.includes('\n')) ? value : JSON.stringify(value);
}

export interface StepIndent {
  /** Column of the `-`. */
  dash: number;
  /** Extra indentation of inputs under `with:`. */
  inputs: number;
}

export function renderStep(step: NewStep, indent: StepIndent): string {
  const key = ' '.repeat(indent.dash + 2);
  const input = ' '.repeat(indent.dash + 2 + indent.inputs);
  const lines = step.fields.map(([name, value], index) => {
    const comment = step.comments?.[name];
    const lead = index === 0 ? `${' '.repeat(indent.dash)}- ` : key;
    if (typeof value === 'string' && value.includes('\n')) {
      const body = value.replace(/\n$/, '').split('\n').map((line) => (line === '' ? '' : `${key}  ${line}`));
      return `${lead}${name}: |\n${body.join('\n')}`;
    }
    return `${lead}${name}: ${yamlScalar(value)}${comment === undefined ? '' : ` # ${comment}`}`;
  });
  if (step.copiedEnv !== undefined) lines.push(`${key}env:`, step.copiedEnv.replace(/\n$/, ''));
  if (step.with !== undefined) {
    lines.push(`${key}with:`);
    const inputs = step.with.map(([name, value]) => `${input}${name}: ${yamlScalar(value)}`);
    lines.push(...(step.copiedInputs === undefined ? [] : [step.copiedInputs.replace(/\n$/, '')]), ...inputs);
  }
  return `${lines.join('\n')}\n`;
}

export function renderSteps(steps: readonly NewStep[], indent: StepIndent, blankLines: boolean): string {
  return steps.map((step) => renderStep(step, indent)).join(blankLines ? '\n' : '');
}
