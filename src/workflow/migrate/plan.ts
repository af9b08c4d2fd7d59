/**
 * Plans the text edits that move a registry handover onto an artifact
 * handover. Pure: reads the model and returns edits; nothing is
 * re-stringified, so every line it does not edit comes out byte for byte.
 *
 * It adds and never repurposes: the producer gets new steps and new outputs
 * (existing outputs keep their expressions), and only the consumers it
 * converts are re-gated. New steps carry the condition of the path they
 * replace. What it cannot convert it leaves, and says so.
 */
import { conditionRefs } from '../expr/references.ts';
import type { Receipt } from '../model/channels.ts';
import { artifactName } from '../model/facts.ts';
import type { WorkflowModel } from '../model/index.ts';
import { followsPolicy } from '../model/push-policy.ts';
import type { Job } from '../model/workflow.ts';
import { planConsumer, type ConsumerPart } from './consumer.ts';
import { DEFAULT_ARTIFACT, type Context, type Handover } from './context.ts';
import type { Leave, MigrateOptions, MigratePlan } from './options.ts';
import { planProducer } from './producer.ts';
import { FileStyle } from './style.ts';

export type { AddedStep, Leave, MigrateOptions, MigratePlan, MigrateStyle } from './options.ts';

/** The consumer's `if:` tests an output of the producer that follows the push policy. */
function gatedOnPolicy(model: WorkflowModel, consumer: Job, producer: Job): boolean {
  return conditionRefs(consumer.if?.value ?? '').some((r) => r.context === 'needs' && r.id === producer.id && r.output !== undefined && followsPolicy(model.facts, producer, r.output) !== undefined);
}

export function planMigration(model: WorkflowModel, options: MigrateOptions, leave: Leave = { producers: new Set(), consumers: new Set() }): MigratePlan {
  const context: Context = { model, text: model.workflow.file.text, options, style: new FileStyle(model.workflow), edits: [], notes: [], added: [] };
  const converted = new Map<string, string[]>();
  const byProducer = new Map<Job, Receipt[]>();
  const published = new Set<string>();
  for (const receipt of model.channels.receipts) {
    if (receipt.channel.kind !== 'registry' || receipt.fetch.kind !== 'pull') continue;
    // A job that runs only when the image was pushed, and not through a push-policy gate, works on the published image.
    if (receipt.publishOnly && !gatedOnPolicy(model, receipt.consumer, receipt.channel.producer)) {
      if (!published.has(receipt.consumer.id)) context.notes.push(`${receipt.consumer.id}: left as it is — it runs only when '${receipt.channel.producer.id}' pushed, so it works on the published image (a deploy or a check of what was published).`);
      published.add(receipt.consumer.id);
      continue;
    }
    const list = byProducer.get(receipt.channel.producer) ?? [];
    list.push(receipt);
    byProducer.set(receipt.channel.producer, list);
  }
  // Artifact names are unique in a run: each producer gets its own.
  const names = new Set(model.facts.uploads.map((u) => artifactName(u)).filter((n): n is string => n !== undefined));
  const nameFor = (producer: Job): string => {
    const wanted = options.artifact ?? DEFAULT_ARTIFACT;
    const reusable = model.channels.channels.some((c) => c.producer === producer && c.upload !== undefined && artifactName(c.upload) === wanted);
    const name = !names.has(wanted) || reusable ? wanted : `${producer.id}-image`;
    names.add(name);
    return name;
  };
  // Producers first: each gets its export (or reuses an upload) and its own artifact name.
  const handovers = new Map<Job, { handover: Handover; edits: [number, number]; notes: [number, number] }>();
  for (const [producer, receipts] of byProducer) {
    if (leave.producers.has(producer.id)) continue;
    const consumers = [...new Set(receipts.map((r) => r.consumer))].filter((c) => !leave.consumers.has(c.id));
    if (consumers.length === 0) continue;
    const edits = context.edits.length;
    const notes = context.notes.length;
    const handover = planProducer(context, producer, receipts.filter((r) => consumers.includes(r.consumer)), consumers, nameFor(producer));
    if (handover !== undefined) handovers.set(producer, { handover, edits: [edits, context.edits.length], notes: [notes, context.notes.length] });
  }
  // Then each consumer, for every producer it takes an image from.
  const consumers = [...new Set([...byProducer.values()].flat().map((r) => r.consumer))].filter((c) => !leave.consumers.has(c.id));
  for (const consumer of consumers) {
    const parts: ConsumerPart[] = [];
    const missing: string[] = [];
    for (const [producer, receipts] of byProducer) {
      const own = receipts.filter((r) => r.consumer === consumer);
      if (own.length === 0) continue;
      const planned = handovers.get(producer);
      if (planned === undefined) missing.push(producer.id);
      else parts.push({ producer, receipts: own, handover: planned.handover });
    }
    if (parts.length === 0) continue;
    if (missing.length > 0) {
      context.notes.push(`${consumer.id}: left as it is — it also takes the image of ${missing.map((id) => `'${id}'`).join(', ')}, which migrate cannot hand over.`);
      continue;
    }
    const edits = context.edits.length;
    const added = context.added.length;
    if (!planConsumer(context, consumer, parts)) {
      context.edits.length = edits;
      context.added.length = added;
      continue;
    }
    for (const part of parts) converted.set(part.producer.id, [...(converted.get(part.producer.id) ?? []), consumer.id]);
  }
  // A producer none of whose consumers was converted keeps its file as it was.
  const dropped = [...handovers.entries()].filter(([producer]) => !converted.has(producer.id));
  const droppedEdits = new Set(dropped.flatMap(([, p]) => Array.from({ length: p.edits[1] - p.edits[0] }, (_, i) => p.edits[0] + i)));
  const droppedNotes = new Set(dropped.flatMap(([, p]) => Array.from({ length: p.notes[1] - p.notes[0] }, (_, i) => p.notes[0] + i)));
  context.edits = context.edits.filter((_, index) => !droppedEdits.has(index));
  context.notes = context.notes.filter((note, index) => !droppedNotes.has(index) || note.includes('left as it is'));
  context.added = context.added.filter((a) => !dropped.some(([producer]) => producer.id === a.job));
  return { edits: context.edits, notes: context.notes, converted, added: context.added };
}

