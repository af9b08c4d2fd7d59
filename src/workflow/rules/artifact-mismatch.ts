import { isLiteral } from '../image-names.ts';
import { downloadedFiles, isUnder, normalizePath } from '../model/channels.ts';
import { artifactName } from '../model/facts.ts';
import type { WorkflowModel } from '../model/index.ts';
import type { Rule, RuleReport } from './rule.ts';

function nameReports(model: WorkflowModel): RuleReport[] {
  const reports: RuleReport[] = [];
  const seen = new Set<unknown>();
  for (const receipt of model.channels.receipts) {
    const fetch = receipt.fetch.kind === 'download' ? receipt.fetch.download : receipt.fetch.kind === 'load-action' ? receipt.fetch.load : undefined;
    if (receipt.nameMatches || fetch === undefined || seen.has(fetch)) continue;
    seen.add(fetch);
    const name = artifactName(fetch) ?? '(all)';
    const sent = [...new Set(model.channels.channels.filter((c) => c.kind === receipt.channel.kind && c.upload !== undefined).map((c) => `'${artifactName(c.upload ?? fetch) ?? 'artifact'}' (job '${c.producer.id}')`))].join(', ');
    reports.push({
      offset: fetch.name?.offset ?? fetch.offset,
      message: `Job '${receipt.consumer.id}' fetches artifact '${name}', but no job uploads an image under that name; uploaded: ${sent}. Use the same name on both sides.`,
    });
  }
  return reports;
}

function pathReports(model: WorkflowModel): RuleReport[] {
  const reports: RuleReport[] = [];
  const seen = new Set<unknown>();
  for (const receipt of model.channels.receipts) {
    if (receipt.fetch.kind !== 'download' || !receipt.nameMatches) continue;
    const load = receipt.acquire;
    const input = load !== undefined && 'input' in load ? load.input : undefined;
    if (input === undefined || !isLiteral(input.value) || seen.has(load)) continue;
    const download = receipt.fetch.download;
    const files = downloadedFiles(receipt.channel, download);
    const directory = download.path?.value ?? '.';
    if (files.length === 0 || !isLiteral(directory)) continue;
    if (files.some((file) => normalizePath(file) === normalizePath(input.value))) continue;
    if (model.channels.receipts.some((other) => other !== receipt && other.acquire === load && other.fetch.kind === 'download' && downloadedFiles(other.channel, other.fetch.download).some((f) => normalizePath(f) === normalizePath(input.value)))) continue;
    seen.add(load);
    reports.push({
      offset: input.offset,
      message: `docker load reads '${input.value}', but artifact '${artifactName(receipt.channel.upload ?? download) ?? 'artifact'}' of job '${receipt.channel.producer.id}' is downloaded to ${files.map((f) => `'${f}'`).join(', ')}. Load the file where the download puts it.`,
    });
  }
  return reports;
}

function unfetchedReports(model: WorkflowModel): RuleReport[] {
  return model.channels.unfetchedLoads.map((load) => {
    const later = model.facts.downloads.find((d) => d.job === load.job && d.step.index > load.step.index);
    return {
      offset: load.offset,
      message:
        later === undefined
          ? `Job '${load.job.id}' loads an image archive but never downloads it (or restores it from a cache): add actions/download-artifact before this step.`
          : `Job '${load.job.id}' loads the image before downloading it: the download is step ${later.step.index + 1}, after this load. Move the download before the load.`,
    };
  });
}

function cacheReports(model: WorkflowModel): RuleReport[] {
  return model.channels.unmatchedRestores.map((restore) => {
    const saved = model.channels.channels.filter((c) => c.kind === 'cache' && c.cache !== undefined && c.producer !== restore.job);
    const keys = saved.map((c) => `'${c.cache?.key?.value.trim() ?? '(no key)'}' at '${c.cache?.paths.map((p) => p.value).join(', ') ?? ''}' (job '${c.producer.id}')`).join(', ');
    return {
      offset: restore.key?.offsetOf(0) ?? restore.offset,
      message: `Job '${restore.job.id}' restores the image cache with key '${restore.key?.value.trim() ?? ''}' at '${restore.paths.map((p) => p.value).join(', ')}', but the image is saved as ${keys}. Use the same key and path on both sides.`,
    };
  });
}

function exportReports(model: WorkflowModel): RuleReport[] {
  const reports: RuleReport[] = [];
  const { facts, channels } = model;
  const consumersExist = channels.receipts.length > 0 || channels.unfetchedLoads.length > 0 || facts.loads.some((l) => l.kind === 'docker');
  for (const exported of facts.exports) {
    const file = exported.file;
    if (exported.kind === 'action' || exported.kind === 'image-artifact' || file === undefined || !isLiteral(file.value)) continue;
    if (channels.channels.some((c) => c.exports.includes(exported))) continue;
    if (facts.loads.some((l) => l.job === exported.job && l.input !== undefined && normalizePath(l.input.value) === normalizePath(file.value))) continue;
    const uploads = facts.uploads.filter((u) => u.job === exported.job && u.kind === 'artifact' && u.paths.length > 0);
    const caches = facts.caches.filter((c) => c.job === exported.job && c.saves && c.paths.some((p) => isUnder(file.value, p.value)));
    if (caches.length > 0) continue;
    if (uploads.length === 0) {
      if (!consumersExist) continue;
      reports.push({
        offset: file.offset,
        message: `Job '${exported.job.id}' exports the image to '${file.value}' but no step uploads it: add actions/upload-artifact with path '${file.value}'.`,
      });
      continue;
    }
    const covered = uploads.some((u) => u.paths.some((p) => !isLiteral(p.value) || /[*?]/.test(p.value) || isUnder(file.value, p.value)));
    const wrong = uploads.find((u) => u.paths.some((p) => /\.(tar|tar\.gz|tgz|tar\.zst|oci)$/.test(p.value)));
    const path = wrong?.paths[0];
    if (!covered && path !== undefined) {
      reports.push({
        offset: path.offset,
        message: `Job '${exported.job.id}' uploads '${path.value.trim()}', but the export wrote '${file.value}'. Upload the file the export writes.`,
      });
    }
  }
  return reports;
}

export const artifactMismatch: Rule = {
  id: 'artifact-mismatch',
  description: 'The two sides of a handover disagree: artifact name, file path or cache key; or the consumer loads an archive it never fetched.',
  level: 'error',
  check({ model }) {
    return [...nameReports(model), ...pathReports(model), ...unfetchedReports(model), ...cacheReports(model), ...exportReports(model)];
  },
};
