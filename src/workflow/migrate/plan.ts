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
import type { WorkflowModel } from '../model/index.ts';
import { followsPolicy } from '../model/push-policy.ts';
import type { Job } from '../model/workflow.ts';
import { planConsumer } from './consumer.ts';
import type { Context } from './context.ts';
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
  for (const [producer, receipts] of byProducer) {
    if (leave.producers.has(producer.id)) continue;
    const consumers = [...new Set(receipts.map((r) => r.consumer))].filter((c) => !leave.consumers.has(c.id));
    if (consumers.length === 0) continue;
    const mark = context.edits.length;
    const notesMark = context.notes.length;
    const handover = planProducer(context, producer, receipts.filter((r) => consumers.includes(r.consumer)), consumers);
    if (handover === undefined) continue;
    const done: string[] = [];
    for (const consumer of consumers) {
      const edits = context.edits.length;
      const added = context.added.length;
      if (planConsumer(context, consumer, producer, receipts.filter((r) => r.consumer === consumer), handover)) done.push(consumer.id);
      else {
        context.edits.length = edits;
        context.added.length = added;
      }
    }
    if (done.length === 0) {
      context.edits.length = mark;
      context.added = context.added.filter((a) => a.job !== producer.id);
      context.notes.splice(notesMark, context.notes.length - notesMark, ...context.notes.slice(notesMark).filter((n) => !n.startsWith(`${producer.id}:`)));
      continue;
    }
    converted.set(producer.id, done);
  }
  return { edits: context.edits, notes: context.notes, converted, added: context.added };
}

