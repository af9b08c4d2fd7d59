import { artifactMismatch } from './artifact-mismatch.ts';
import { artifactRetention } from './artifact-retention.ts';
import { consumerNeeds } from './consumer-needs.ts';
import { emptyImageRef } from './empty-image-ref.ts';
import { exportCache } from './export-cache.ts';
import { pushPolicyGate } from './push-policy-gate.ts';
import { registryPull } from './registry-pull.ts';
import type { Rule } from './rule.ts';
import { suppression } from './suppression.ts';
import { tagMismatch } from './tag-mismatch.ts';
import { unpinnedLoad } from './unpinned-load.ts';
import { unverifiedImage } from './unverified-image.ts';

/** Every rule `handover check` runs, in the order the docs list them. */
export const rules: readonly Rule[] = [
  registryPull,
  emptyImageRef,
  tagMismatch,
  artifactMismatch,
  unverifiedImage,
  consumerNeeds,
  pushPolicyGate,
  exportCache,
  artifactRetention,
  unpinnedLoad,
  suppression,
];

export function ruleById(id: string): Rule | undefined {
  return rules.find((rule) => rule.id === id);
}
