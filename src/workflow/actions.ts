/** The actions the handover contract knows, recognised by their `uses:` reference. */
import type { Literal } from './expr/syntax.ts';
import type { Field, Step } from './model/workflow.ts';

/** Our actions, as `handover migrate` writes them when the file does not use them yet. */
export const EXPORT_ACTION = 'image-handover/image-handover/export@v1';
export const LOAD_ACTION = 'image-handover/image-handover/load@v1';

/** Our export action's retention when `retention-days` is not given (export/action.yml). */
export const EXPORT_ACTION_DEFAULT_RETENTION_DAYS = 1;

/** The artifact name our export and load actions use when `name` is not given (export/action.yml, load/action.yml). */
export const ACTION_DEFAULT_ARTIFACT_NAME = 'docker-image';

/** `owner/repo/path` without the `@ref`; local actions keep their `./path`. */
export function actionName(uses: string): string {
  return uses.trim().replace(/@.*$/, '').toLowerCase();
}

function isOurs(uses: string, which: 'export' | 'load'): boolean {
  const name = actionName(uses).replace(/\/$/, '');
  return name === `./${which}` || name.endsWith(`/image-handover/${which}`);
}

export const isExportAction = (uses: string): boolean => isOurs(uses, 'export');
export const isLoadAction = (uses: string): boolean => isOurs(uses, 'load');
export const isBuildPushAction = (uses: string): boolean => actionName(uses) === 'docker/build-push-action';
export const isBakeAction = (uses: string): boolean => actionName(uses) === 'docker/bake-action';
export const isUploadArtifact = (uses: string): boolean => actionName(uses) === 'actions/upload-artifact';
export const isDownloadArtifact = (uses: string): boolean => actionName(uses) === 'actions/download-artifact';

/** actions/cache and its save/restore halves: what each side does. */
export function cacheRole(uses: string): { saves: boolean; restores: boolean } | undefined {
  switch (actionName(uses)) {
    case 'actions/cache':
      return { saves: true, restores: true };
    case 'actions/cache/save':
      return { saves: true, restores: false };
    case 'actions/cache/restore':
      return { saves: false, restores: true };
    default:
      return undefined;
  }
}

/**
 * Marketplace actions that upload an image as an artifact and download and
 * load it again, keyed by the image name: ishworkh/docker-image-artifact-*
 * and ishworkh/container-image-artifact-*.
 */
export function imageArtifactRole(uses: string): 'upload' | 'download' | undefined {
  const match = /^ishworkh\/(?:docker|container)-image-artifact-(upload|download)$/.exec(actionName(uses));
  return match?.[1] as 'upload' | 'download' | undefined;
}

/** The artifact name ishworkh's actions derive from the image (`foo:latest` -> `action_image_artifact_foo_latest`). */
export function imageArtifactName(image: string): string {
  return `action_image_artifact_${image.replace(/[\s><:"|*?/\\]/g, '_')}`;
}

const LOGIN_ACTIONS = new Set([
  'docker/login-action',
  'aws-actions/amazon-ecr-login',
  'azure/docker-login',
  'redhat-actions/podman-login',
  'google-github-actions/auth',
]);
export const isLoginAction = (uses: string): boolean => LOGIN_ACTIONS.has(actionName(uses));

/** Inputs that wrapper actions (retry, timeout, ssh-less runners) run as a shell command. */
const SCRIPT_INPUTS = ['command', 'run', 'commands', 'shell-command', 'script'];
/** Actions whose `script` is not shell. */
const NOT_SHELL = new Set(['actions/github-script']);

/** The shell commands a wrapper action runs (`nick-fields/retry` `command:`, …). */
export function scriptInputs(step: Step): Field[] {
  if (step.uses === undefined || NOT_SHELL.has(actionName(step.uses.value))) return [];
  return SCRIPT_INPUTS.map((name) => step.with.get(name)).filter((f): f is Field => f !== undefined);
}

/** Outputs of known actions whose value the model knows. */
export function knownActionOutput(uses: string, name: string): Literal | undefined {
  if (isExportAction(uses) && name === 'run-integration') return 'true';
  return undefined;
}

/** Items of a list input: GitHub passes lists as newline- or comma-separated strings. */
export function listItems(value: string): { text: string; index: number }[] {
  const items: { text: string; index: number }[] = [];
  for (const match of value.matchAll(/[^,\n]+/g)) {
    const text = match[0].trim();
    if (text !== '') items.push({ text, index: (match.index ?? 0) + match[0].indexOf(text) });
  }
  return items;
}
