/** The actions the handover contract knows, recognised by their `uses:` reference. */

/** Our actions, as `handover migrate` writes them. */
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
export const isUploadArtifact = (uses: string): boolean => actionName(uses) === 'actions/upload-artifact';
export const isDownloadArtifact = (uses: string): boolean => actionName(uses) === 'actions/download-artifact';

const LOGIN_ACTIONS = new Set([
  'docker/login-action',
  'aws-actions/amazon-ecr-login',
  'azure/docker-login',
  'redhat-actions/podman-login',
  'google-github-actions/auth',
]);
export const isLoginAction = (uses: string): boolean => LOGIN_ACTIONS.has(actionName(uses));

/** Items of a list input: GitHub passes lists as newline- or comma-separated strings. */
export function listItems(value: string): { text: string; index: number }[] {
  const items: { text: string; index: number }[] = [];
  for (const match of value.matchAll(/[^,\n]+/g)) {
    const text = match[0].trim();
    if (text !== '') items.push({ text, index: (match.index ?? 0) + match[0].indexOf(text) });
  }
  return items;
}
