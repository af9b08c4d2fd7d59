import * as core from '@actions/core';
import { DockerEngine } from '../engine/docker-engine.ts';
import { loadBundle, type LoadResult } from '../handover/load/load.ts';
import { selectStore } from '../store/select-store.ts';
import { CountingStore } from './counting-store.ts';
import { readLoadInputs } from './inputs.ts';
import { writeJobSummary } from './job-summary.ts';
import { logProgress } from './log-progress.ts';
import { setOutputs, type LoadOutputs } from './outputs.ts';
import { runStep } from './run-step.ts';
import { loadSummaryMarkdown } from './summary.ts';

export function loadOutputs(result: LoadResult): LoadOutputs {
  return {
    'bundle-digest': result.bundleDigest,
    'image-ids': result.images.map((i) => i.imageId).join(','),
    tags: result.images.flatMap((i) => i.tags).join(','),
  };
}

/** The load action: artifact -> verified bundle -> engine, each tag checked; outputs and a job summary. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runStep('load', env, async ({ settings, signal }) => {
    const inputs = readLoadInputs((name) => core.getInput(name));
    const runId = inputs['run-id'];
    const from = runId === undefined ? undefined : { runId, repository: inputs.repository, token: inputs['github-token'] };
    if (inputs['github-token'] !== '') core.setSecret(inputs['github-token']);
    const store = new CountingStore(selectStore({ store: inputs.store, defaultStore: settings.defaultStore, runner: settings.runner, cwd: process.cwd(), from }));
    const engine = new DockerEngine(settings.engine);
    if (inputs.expect === undefined) {
      core.warning(
        `Loading whatever bundle is named '${inputs.name}' without pinning it. Set expect: to the producer's bundle-digest output (expect: \${{ needs.<job>.outputs.<output> }}) so only the image that was built is loaded.`,
      );
    }
    const result = await core.group(`Load '${inputs.name}' from ${store.location} into ${engine.endpoint}`, () =>
      loadBundle({
        store,
        engine,
        name: inputs.name,
        expect: inputs.expect,
        requireTags: inputs.tags,
        signal,
        onProgress: logProgress((line) => core.info(line)),
        stepBytes: settings.loadStepBytes,
      classicLoad: settings.classicLoad,
        zstd: settings.zstd,
      }),
    );
    const verifiedTags = result.images.flatMap((i) => i.tags);
    for (const image of result.images) {
      core.info(`Verified ${image.imageId} as ${image.tags.length === 0 ? '(untagged)' : image.tags.join(', ')}`);
    }
    await writeJobSummary(
      settings.stepSummary,
      loadSummaryMarkdown({
        name: result.name,
        bundleDigest: result.bundleDigest,
        pinned: inputs.expect !== undefined,
        store: result.store,
        images: result.images.map((i) => ({ tags: i.tags, imageId: i.imageId, layers: i.layers })),
        verifiedTags,
        readBytes: store.bytesRead,
        loadedBytes: result.bytes.loaded,
        phases: result.timings.phases,
        totalMs: result.timings.totalMs,
      }),
    );
    setOutputs(loadOutputs(result), (name, value) => core.setOutput(name, value));
  });
}
