import * as core from '@actions/core';
import { DockerEngine } from '../engine/docker-engine.ts';
import { exportImages, type ExportResult, type ExportSource } from '../handover/export/export.ts';
import { selectStore } from '../store/select-store.ts';
import { readExportInputs, type ExportInputs } from './inputs.ts';
import { writeJobSummary } from './job-summary.ts';
import { logProgress } from './log-progress.ts';
import { setOutputs, type ExportOutputs } from './outputs.ts';
import { runStep } from './run-step.ts';
import { exportSummaryMarkdown } from './summary.ts';

/** The outputs of a finished export; run-integration is 'true' only for a published (uploaded and finalized) bundle. */
export function exportOutputs(result: ExportResult): ExportOutputs {
  const artifactId = result.details['artifactId'];
  const artifactName = result.details['artifactName'];
  return {
    'artifact-name': typeof artifactName === 'string' ? artifactName : result.name,
    'artifact-id': typeof artifactId === 'number' ? String(artifactId) : '',
    'bundle-digest': result.bundleDigest,
    'image-ids': result.images.map((i) => i.imageId).join(','),
    bytes: String(result.bytes.stored),
    'run-integration': 'true',
  };
}

function describeSources(inputs: ExportInputs): string {
  return inputs.archive !== '' ? `archive ${inputs.archive}` : inputs.images.join(', ') || '(no images)';
}

/** The export action: images (or an archive) -> bundle -> artifact, outputs and a job summary. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runStep('export', env, async ({ settings, signal }) => {
    const inputs = readExportInputs((name) => core.getInput(name));
    const store = selectStore({ store: inputs.store, defaultStore: settings.defaultStore, runner: settings.runner, cwd: process.cwd(), retentionDays: inputs['retention-days'] });
    const source: ExportSource = inputs.archive !== '' ? { archive: inputs.archive } : { engine: new DockerEngine(settings.engine), references: inputs.images };
    const result = await core.group(`Export ${describeSources(inputs)} as '${inputs.name}' to ${store.location}`, () =>
      exportImages({
        store,
        source,
        name: inputs.name,
        tag: inputs.tag === '' ? undefined : inputs.tag,
        compression: inputs.compression,
        producer: settings.producer,
        signal,
        onProgress: logProgress((line) => core.info(line)),
        headStartBytes: settings.headStartBytes,
        zstd: settings.zstd,
      }),
    );
    const outputs = exportOutputs(result);
    core.info(`Bundle digest ${result.bundleDigest}; ${result.location}`);
    await writeJobSummary(
      settings.stepSummary,
      exportSummaryMarkdown({
        name: result.name,
        bundleDigest: result.bundleDigest,
        store: result.store,
        artifactId: outputs['artifact-id'] === '' ? undefined : Number(outputs['artifact-id']),
        compression: result.compression,
        images: result.images.map((i) => ({ tags: i.tags, imageId: i.imageId, layers: i.layers, uncompressedBytes: i.uncompressedBytes, storedBytes: i.storedBytes })),
        storedBytes: result.bytes.stored,
        phases: result.timings.phases,
        totalMs: result.timings.totalMs,
        uploadMs: typeof result.details['uploadMs'] === 'number' ? result.details['uploadMs'] : undefined,
      }),
    );
    setOutputs(outputs, (name, value) => core.setOutput(name, value));
  });
}
