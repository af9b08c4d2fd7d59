/** What a consumer job received: the images it may use, where it got them, and which of its steps use them. */
import { actionName, cacheRole, imageArtifactRole, isDownloadArtifact, isLoadAction, isLoginAction, isUploadArtifact } from '../actions.ts';
import { callsStatusFunction } from '../expr/syntax.ts';
import { engineCommand } from '../shell/engine.ts';
import { sameImage, type Receipt } from './channels.ts';
import type { Flow } from './dataflow.ts';
import type { Facts, Located } from './facts.ts';
import type { Job, Step } from './workflow.ts';

/** The references the consumer may use for the image: what travels, and what the job re-tags it as. */
export function availableImages(flow: Flow, facts: Facts, job: Job, receipts: readonly Receipt[]): Located[] {
  const available: Located[] = [];
  for (const receipt of receipts) {
    available.push(...receipt.channel.images);
    if (receipt.fetch.kind === 'pull') available.push(receipt.fetch.pull.ref);
  }
  for (const retag of facts.retags.filter((r) => r.job === job)) {
    if (available.some((image) => sameImage(flow, image, retag.source))) available.push(retag.target);
  }
  return available;
}

const NEUTRAL_COMMANDS = new Set(['echo', 'printf', 'set', 'cat', 'ls', 'mkdir', 'gunzip', 'gzip', 'zstd', 'unzstd', 'cd', 'rm', 'df', 'du', 'export', 'true', ':']);
const ACQUIRING = new Set(['pull', 'tag', 'load', 'login', 'images', 'ls', 'inspect', 'info', 'version', 'system']);

/** Steps that only fetch, name or show the image, or set up the runner, are not tests that use it. */
export function usesImage(flow: Flow, job: Job, step: Step): boolean {
  if (step.if !== undefined && callsStatusFunction(flow.condition(step.if.value))) return false;
  const script = flow.script(job, step);
  if (script !== undefined) {
    return script.script.commands.some((command) => {
      const head = command.words[0]?.text ?? '';
      if (NEUTRAL_COMMANDS.has(head) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(head)) return false;
      const engine = engineCommand(command);
      return engine === undefined || !ACQUIRING.has(engine.verb);
    });
  }
  const uses = step.uses?.value;
  if (uses === undefined) return false;
  const name = actionName(uses);
  const infrastructure =
    /^actions\/(checkout|setup-|cache|github-script)/.test(name) ||
    /^docker\/(setup-|metadata-action)/.test(name) ||
    isUploadArtifact(uses) ||
    isDownloadArtifact(uses) ||
    isLoginAction(uses) ||
    isLoadAction(uses) ||
    imageArtifactRole(uses) !== undefined ||
    cacheRole(uses) !== undefined;
  return !infrastructure;
}

