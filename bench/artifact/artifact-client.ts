/**
 * What actions/upload-artifact and actions/download-artifact run, as a
 * command of its own: the official @actions/artifact client, in the job's
 * environment (ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL).
 *
 *   node artifact-client.ts upload NAME FILE --level N   a zip at deflate level N (upload-artifact's default is 6)
 *   node artifact-client.ts upload - FILE --single-file  the file as it is (upload-artifact v7 archive: false;
 *                                                        the artifact is named after the file)
 *   node artifact-client.ts download NAME DIR            download-artifact: a zip is unpacked, a single file saved
 */
import { basename, dirname } from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';

const [verb, name = '', path = '', ...flags] = process.argv.slice(2);
const client = new DefaultArtifactClient();
if (verb === 'upload') {
  const single = flags.includes('--single-file');
  const level = Number(flags[flags.indexOf('--level') + 1] ?? '6');
  const uploaded = await client.uploadArtifact(single ? basename(path) : name, [path], dirname(path), single ? { skipArchive: true } : { compressionLevel: level });
  process.stdout.write(`${JSON.stringify({ id: uploaded.id, size: uploaded.size })}\n`);
} else if (verb === 'download') {
  const { artifact } = await client.getArtifact(name);
  await client.downloadArtifact(artifact.id, { path, ...(artifact.digest === undefined ? {} : { expectedHash: artifact.digest }) });
  process.stdout.write(`${JSON.stringify({ id: artifact.id, size: artifact.size })}\n`);
} else {
  process.stderr.write('usage: artifact-client.ts upload NAME FILE [--level N | --single-file] | download NAME DIR\n');
  process.exitCode = 2;
}
