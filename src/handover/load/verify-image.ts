import type { Digest } from '../../digest/digest.ts';
import type { Engine } from '../../engine/engine.ts';
import { VerificationError } from '../../errors.ts';
import type { ResolvedImage } from '../bundle-reader.ts';

/**
 * Checks the engine holds exactly the recorded image under the id it must
 * have — the config digest on an engine's own layer store and on Podman,
 * the manifest or index digest on containerd's store — with the recorded
 * layers. Returns the id.
 */
export async function verifyImage(engine: Engine, image: ResolvedImage, expectedId: Digest): Promise<string> {
  const info = await engine.inspectImage(expectedId);
  if (info === undefined) {
    throw new VerificationError(`After the load, the engine at ${engine.endpoint} does not hold image ${expectedId}.`, {
      hint: 'The engine accepted the archive but did not register the image; check its log. No tag was changed.',
      details: { expected: expectedId },
    });
  }
  if (info.diffIds.join(',') !== image.parsedConfig.diffIds.join(',')) {
    throw new VerificationError(`The engine holds image ${info.id} with other layers than the bundle records.`, {
      hint: 'No tag was changed. Remove the image (docker image rm) and load again.',
      details: { expected: image.parsedConfig.diffIds, actual: info.diffIds },
    });
  }
  return info.id;
}
