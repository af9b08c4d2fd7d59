import { posix } from 'node:path';
import { listItems } from '../actions.ts';
import { artifactName, isImageUpload, uploadsFetchedBy, type ArtifactDownload, type ArtifactUpload, type HandoverFacts, type ImageLoad } from '../handover.ts';
import { isLiteral } from '../image-names.ts';
import type { Rule, RuleReport } from './rule.ts';

/** Workspace-relative and absolute spellings of the same place compare equal. */
function normalizePath(path: string): string {
  const relative = path.trim().replace(/^(\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\}?)\/?/, '');
  return posix.normalize(relative === '' ? '.' : relative);
}

function singleFile(upload: ArtifactUpload): string | undefined {
  const paths = listItems(upload.path?.value ?? '').map((p) => p.text);
  const [only] = paths;
  return paths.length === 1 && only !== undefined && isLiteral(only) && !/[*?]/.test(only) ? only : undefined;
}

function checkDockerLoad(facts: HandoverFacts, load: ImageLoad): RuleReport[] {
  const job = load.job;
  const downloads = facts.downloads.filter((d) => d.job === job);
  const before = downloads.filter((d) => d.step.index < load.step.index);
  if (before.length === 0) {
    const after = downloads.find((d) => d.step.index > load.step.index);
    return [{
      offset: load.offset,
      message: after === undefined
        ? `Job '${job.id}' loads an image archive but never downloads it: add actions/download-artifact before this step.`
        : `Job '${job.id}' loads the image before downloading it: the download is step ${after.step.index + 1}, after this load. Move the download before the load.`,
    }];
  }
  const input = load.input;
  if (input === undefined || !isLiteral(input.value)) return [];
  for (const download of before) {
    for (const upload of uploadsFetchedBy(facts, download)) {
      const file = singleFile(upload);
      const directory = download.path?.value ?? '.';
      if (file === undefined || !isLiteral(directory)) continue;
      const expected = normalizePath(posix.join(directory, posix.basename(file)));
      if (normalizePath(input.value) === expected) return [];
      return [{
        offset: input.offset,
        message: `docker load reads '${input.value}', but artifact '${upload.name?.value ?? 'artifact'}' (uploaded from '${file}' by job '${upload.job.id}') is downloaded to '${expected}'. Load the file where the download puts it.`,
      }];
    }
  }
  return [];
}

function checkFetchName(facts: HandoverFacts, fetch: ArtifactDownload | ImageLoad): RuleReport[] {
  const name = artifactName(fetch);
  if (name === undefined || !isLiteral(name)) return [];
  const uploads = facts.uploads.filter((u) => isImageUpload(facts, u));
  if (uploads.length === 0 || uploads.some((u) => artifactName(u) === name)) return [];
  const names = uploads.map((u) => `'${artifactName(u) ?? '(unnamed)'}' (job '${u.job.id}')`).join(', ');
  return [{
    offset: fetch.name?.offsetOf(0) ?? fetch.offset,
    message: `Job '${fetch.job.id}' fetches artifact '${name}', but no job uploads an image under that name; uploaded: ${names}. Use the same name on both sides.`,
  }];
}

export const artifactMismatch: Rule = {
  id: 'artifact-mismatch',
  description: 'Upload and download disagree on artifact name or file path, or the download is missing or comes after the load.',
  level: 'error',
  check({ facts }) {
    const reports: RuleReport[] = [];
    for (const load of facts.loads) {
      if (facts.imageJobs.has(load.job.id)) continue;
      if (load.kind === 'docker') reports.push(...checkDockerLoad(facts, load));
      else reports.push(...checkFetchName(facts, load));
    }
    for (const download of facts.downloads) {
      if (facts.loads.some((l) => l.job === download.job && l.kind === 'docker')) reports.push(...checkFetchName(facts, download));
    }
    for (const exported of facts.exports) {
      const file = exported.file;
      if (exported.kind === 'action' || file === undefined || !isLiteral(file.value)) continue;
      const uploads = facts.uploads.filter((u) => u.job === exported.job && u.path !== undefined);
      if (uploads.length === 0) {
        if (facts.consumers.length === 0) continue;
        reports.push({
          offset: file.offset,
          message: `Job '${exported.job.id}' exports the image to '${file.value}' but no step uploads it: add actions/upload-artifact with path '${file.value}'.`,
        });
        continue;
      }
      const paths = uploads.flatMap((u) => listItems(u.path?.value ?? '').map((p) => ({ upload: u, path: p.text })));
      const target = normalizePath(file.value);
      const covered = paths.some(({ path }) => !isLiteral(path) || /[*?]/.test(path) || target === normalizePath(path) || target.startsWith(`${normalizePath(path)}/`));
      const wrong = uploads.find((u) => isImageUpload(facts, u));
      if (!covered && wrong?.path !== undefined) {
        reports.push({
          offset: wrong.path.offsetOf(0),
          message: `Job '${exported.job.id}' uploads '${wrong.path.value.trim()}', but the export wrote '${file.value}'. Upload the file the export writes.`,
        });
      }
    }
    return reports;
  },
};
