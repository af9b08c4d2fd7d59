import * as core from '@actions/core';
import { DockerEngine } from '../engine/docker-engine.ts';
import { parseDockerHost } from '../engine/docker-host.ts';
import { producerAnnotations } from '../handover/ci-context.ts';
import { exportImages, type ExportResult } from '../handover/export.ts';
import { selectStore } from '../store/select-store.ts';
import { VERSION } from '../version.ts';
import { describeFailure } from './failure.ts';
import { readExportInputs, type ExportInputs } from './inputs.ts';
import { logProgress } from './log-progress.ts';
import { setOutputs, type ExportOutputs } from './outputs.ts';
import { exportSummaryMarkdown, failureSummaryMarkdown } from './summary.ts';
import { writeJobSummary } from './job-summary.ts';

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
  try {
    const inputs = readExportInputs((name) => core.getInput(name));
    const store = selectStore({ store: inputs.store, env, cwd: process.cwd(), retentionDays: inputs['retention-days'] });
    const engine = inputs.archive === '' ? new DockerEngine(parseDockerHost(env['DOCKER_HOST'])) : undefined;
    const result = await core.group(`Export ${describeSources(inputs)} as '${inputs.name}' to ${store.location}`, () =>
      exportImages({
        store,
        name: inputs.name,
        sources: inputs.images,
        archive: inputs.archive === '' ? undefined : inputs.archive,
        engine,
        tag: inputs.tag === '' ? undefined : inputs.tag,
        compression: inputs.compression,
        producer: producerAnnotations(env, VERSION),
        onProgress: logProgress((line) => core.info(line)),
      }),
    );
    const outputs = exportOutputs(result);
    core.info(`Bundle digest ${result.bundleDigest}; ${result.location}`);
    await writeJobSummary(
      env,
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
  } catch (error) {
    const failure = describeFailure(error);
    core.setFailed(failure.message);
    process.exitCode = failure.exitStatus;
    await writeJobSummary(env, failureSummaryMarkdown('export', failure.message));
  }
}
