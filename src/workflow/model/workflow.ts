import { isMap, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { WorkflowParseError } from '../../errors.ts';
import { scalarOffset, type SourceFile } from '../source.ts';

/** A scalar value with the nodes that locate it in the file. */
export interface Field {
  value: string;
  node: Scalar;
  /** The key's node (`run`, `uses`, an input name...). */
  key: Scalar;
  /** Offset in the file of `value[index]`. */
  offsetOf(index: number, needle?: string): number;
}

export interface Step {
  /** Position in the job's steps, from 0. */
  index: number;
  node: YAMLMap;
  /** Offset of the step's first key, where findings about the whole step point. */
  offset: number;
  id: Field | undefined;
  name: Field | undefined;
  uses: Field | undefined;
  run: Field | undefined;
  if: Field | undefined;
  with: Map<string, Field>;
  withNode: YAMLMap | undefined;
  env: Map<string, Field>;
  continueOnError: boolean;
}

/** An input of `workflow_call` or `workflow_dispatch`. */
export interface InputDefinition {
  name: string;
  type: string | undefined;
  default: string | undefined;
  required: boolean;
  /** `options:` of a choice input. */
  options: string[];
}

export interface Job {
  id: string;
  key: Scalar;
  node: YAMLMap;
  needs: string[];
  /** The `needs:` value's node, or undefined when the job needs nothing. */
  needsNode: Node | undefined;
  if: Field | undefined;
  outputs: Map<string, Field>;
  outputsNode: YAMLMap | undefined;
  env: Map<string, Field>;
  steps: Step[];
  stepsNode: YAMLSeq | undefined;
  /** `strategy.matrix`: each key's listed values (undefined when computed by an expression). */
  matrix: Map<string, string[] | undefined>;
  /** `container:` (its image) and `services.<name>.image`: images the runner pulls before the steps. */
  container: Field | undefined;
  services: Map<string, Field>;
  /** A call of a reusable workflow (`uses:` on the job) and its `with:` inputs. */
  calls: Field | undefined;
  callWith: Map<string, Field>;
}

export interface Workflow {
  file: SourceFile;
  jobs: Job[];
  env: Map<string, Field>;
  /** Inputs of `workflow_call` and `workflow_dispatch`, by name. */
  inputs: Map<string, InputDefinition>;
  /** `on.workflow_call.outputs.<name>.value`. */
  callOutputs: Map<string, Field>;
}

export function jobById(workflow: Workflow, id: string): Job | undefined {
  return workflow.jobs.find((job) => job.id === id);
}

/** Every job `job` runs after, directly or through other jobs. */
export function transitiveNeeds(workflow: Workflow, job: Job): Set<string> {
  const seen = new Set<string>();
  const queue = [...job.needs];
  while (queue.length > 0) {
    const id = queue.pop();
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    queue.push(...(jobById(workflow, id)?.needs ?? []));
  }
  return seen;
}

export function stepLabel(step: Step): string {
  const run = step.run?.value.trim().split('\n')[0];
  const command = run === undefined ? undefined : run.length > 40 ? `${run.slice(0, 39)}…` : run;
  return step.name?.value ?? step.id?.value ?? step.uses?.value ?? command ?? `step ${step.index + 1}`;
}

function pairs(map: YAMLMap): Pair<Scalar, Node | null>[] {
  return map.items.filter((pair): pair is Pair<Scalar, Node | null> => isScalar(pair.key));
}

function get(map: YAMLMap, key: string): Pair<Scalar, Node | null> | undefined {
  for (const pair of map.items) if (isScalar(pair.key) && String(pair.key.value) === key) return pair as Pair<Scalar, Node | null>;
  return undefined;
}

function field(file: SourceFile, pair: Pair<Scalar, Node | null> | undefined): Field | undefined {
  const node = pair?.value;
  if (pair === undefined || !isScalar(node) || node.value === null) return undefined;
  const raw: unknown = node.value;
  return {
    value: typeof raw === 'string' ? raw : JSON.stringify(raw),
    node,
    key: pair.key,
    offsetOf: (index, needle) => scalarOffset(file.text, node, index, needle),
  };
}

function fieldMap(file: SourceFile, node: Node | null | undefined): Map<string, Field> {
  const result = new Map<string, Field>();
  if (!isMap(node)) return result;
  for (const pair of pairs(node)) {
    const value = field(file, pair);
    if (value !== undefined) result.set(String(pair.key.value), value);
  }
  return result;
}

function readStep(file: SourceFile, node: unknown, index: number): Step | undefined {
  if (!isMap(node)) return undefined;
  const withPair = get(node, 'with');
  return {
    index,
    node,
    offset: node.range?.[0] ?? 0,
    id: field(file, get(node, 'id')),
    name: field(file, get(node, 'name')),
    uses: field(file, get(node, 'uses')),
    run: field(file, get(node, 'run')),
    if: field(file, get(node, 'if')),
    with: fieldMap(file, withPair?.value),
    withNode: isMap(withPair?.value) ? withPair.value : undefined,
    env: fieldMap(file, get(node, 'env')?.value),
    continueOnError: scalarText(get(node, 'continue-on-error')?.value) === 'true',
  };
}

function scalarText(node: Node | null | undefined): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  const value: unknown = node.value;
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

function readMatrix(node: Node | null | undefined): Map<string, string[] | undefined> {
  const matrix = new Map<string, string[] | undefined>();
  const strategy = isMap(node) ? get(node, 'matrix')?.value : undefined;
  if (!isMap(strategy)) return matrix;
  for (const pair of pairs(strategy)) {
    const key = String(pair.key.value);
    if (key === 'exclude') continue;
    if (key === 'include' && isSeq(pair.value)) {
      for (const entry of pair.value.items) {
        if (!isMap(entry)) continue;
        for (const item of pairs(entry)) {
          const name = String(item.key.value);
          const value = scalarText(item.value);
          const known = matrix.has(name) ? matrix.get(name) : [];
          matrix.set(name, known === undefined || value === undefined ? undefined : [...known, value]);
        }
      }
      continue;
    }
    matrix.set(key, isSeq(pair.value) ? pair.value.items.map((item) => scalarText(item as Node)).filter((v): v is string => v !== undefined) : undefined);
  }
  return matrix;
}

function readServices(file: SourceFile, node: Node | null | undefined): Map<string, Field> {
  const services = new Map<string, Field>();
  if (!isMap(node)) return services;
  for (const pair of pairs(node)) {
    const image = isMap(pair.value) ? field(file, get(pair.value, 'image')) : field(file, pair);
    if (image !== undefined) services.set(String(pair.key.value), image);
  }
  return services;
}

function readContainer(file: SourceFile, job: YAMLMap): Field | undefined {
  const pair = get(job, 'container');
  if (isMap(pair?.value)) return field(file, get(pair.value, 'image'));
  return field(file, pair);
}

function readInputs(root: YAMLMap): Map<string, InputDefinition> {
  const inputs = new Map<string, InputDefinition>();
  const on = get(root, 'on')?.value;
  if (!isMap(on)) return inputs;
  for (const trigger of ['workflow_call', 'workflow_dispatch']) {
    const declared = get(on, trigger)?.value;
    const list = isMap(declared) ? get(declared, 'inputs')?.value : undefined;
    if (!isMap(list)) continue;
    for (const pair of pairs(list)) {
      const name = String(pair.key.value);
      const spec = isMap(pair.value) ? pair.value : undefined;
      const options = spec === undefined ? undefined : get(spec, 'options')?.value;
      inputs.set(name, {
        name,
        type: spec === undefined ? undefined : scalarText(get(spec, 'type')?.value),
        default: spec === undefined ? undefined : scalarText(get(spec, 'default')?.value),
        required: spec !== undefined && scalarText(get(spec, 'required')?.value) === 'true',
        options: isSeq(options) ? options.items.map((item) => scalarText(item as Node)).filter((v): v is string => v !== undefined) : [],
      });
    }
  }
  return inputs;
}

function readCallOutputs(file: SourceFile, root: YAMLMap): Map<string, Field> {
  const outputs = new Map<string, Field>();
  const on = get(root, 'on')?.value;
  const call = isMap(on) ? get(on, 'workflow_call')?.value : undefined;
  const list = isMap(call) ? get(call, 'outputs')?.value : undefined;
  if (!isMap(list)) return outputs;
  for (const pair of pairs(list)) {
    const value = isMap(pair.value) ? field(file, get(pair.value, 'value')) : undefined;
    if (value !== undefined) outputs.set(String(pair.key.value), value);
  }
  return outputs;
}

function readNeeds(node: Node | null | undefined): string[] {
  if (isScalar(node)) return [String(node.value)];
  if (isSeq(node)) return node.items.filter(isScalar).map((item) => String(item.value));
  return [];
}

function readJob(file: SourceFile, pair: Pair<Scalar, Node | null>): Job | undefined {
  const node = pair.value;
  if (!isMap(node)) return undefined;
  const stepsNode = get(node, 'steps')?.value;
  const outputsNode = get(node, 'outputs')?.value;
  const needsNode = get(node, 'needs')?.value ?? undefined;
  const steps = isSeq(stepsNode)
    ? stepsNode.items.map((item, index) => readStep(file, item, index)).filter((s): s is Step => s !== undefined)
    : [];
  return {
    id: String(pair.key.value),
    key: pair.key,
    node,
    needs: readNeeds(needsNode),
    needsNode,
    if: field(file, get(node, 'if')),
    outputs: fieldMap(file, outputsNode),
    outputsNode: isMap(outputsNode) ? outputsNode : undefined,
    env: fieldMap(file, get(node, 'env')?.value),
    steps,
    stepsNode: isSeq(stepsNode) ? stepsNode : undefined,
    matrix: readMatrix(get(node, 'strategy')?.value),
    container: readContainer(file, node),
    services: readServices(file, get(node, 'services')?.value),
    calls: field(file, get(node, 'uses')),
    callWith: fieldMap(file, get(node, 'with')?.value),
  };
}

/** Reads the jobs and steps of a parsed workflow file. */
export function readWorkflow(file: SourceFile): Workflow {
  const root = file.document.contents;
  if (root === null) return { file, jobs: [], env: new Map(), inputs: new Map(), callOutputs: new Map() };
  if (!isMap(root)) {
    throw new WorkflowParseError(`${file.path}: a workflow is a YAML mapping with 'on' and 'jobs', not a ${isSeq(root) ? 'list' : 'scalar'}.`, {
      hint: 'Pass workflow files (.github/workflows/*.yml) to handover check.',
      details: { path: file.path },
    });
  }
  const jobsNode = get(root, 'jobs')?.value;
  const jobs = isMap(jobsNode)
    ? pairs(jobsNode).map((pair) => readJob(file, pair)).filter((job): job is Job => job !== undefined)
    : [];
  return { file, jobs, env: fieldMap(file, get(root, 'env')?.value), inputs: readInputs(root), callOutputs: readCallOutputs(file, root) };
}
