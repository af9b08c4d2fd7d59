/**
 * The model `check` and `migrate` reason over: the workflow as read, its data
 * flow, what each step does with images, and the channels images travel by.
 */
import type { SourceFile } from '../source.ts';
import { buildChannels, type Channels } from './channels.ts';
import { Flow } from './dataflow.ts';
import { collectFacts, type Facts } from './facts.ts';
import { readWorkflow, type Workflow } from './workflow.ts';

export interface WorkflowModel {
  workflow: Workflow;
  flow: Flow;
  facts: Facts;
  channels: Channels;
}

export function buildModel(file: SourceFile): WorkflowModel {
  const workflow = readWorkflow(file);
  const flow = new Flow(workflow);
  const facts = collectFacts(flow);
  return { workflow, flow, facts, channels: buildChannels(flow, facts) };
}
