import { randomBytes } from 'node:crypto';
import { buildImage, busyboxBinary, imageId, importImage } from './docker.ts';

/**
 * Test images, built offline FROM scratch: a base with busybox, and two
 * images on it. The app image covers what a layer can hold: hard links,
 * symlinks, a file deleted in an upper layer (a whiteout), an empty layer,
 * and incompressible data. The base starts from an imported empty layer
 * (an empty tar), the one kind of layer a build never makes.
 */
export const BASE_DOCKERFILE = (empty: string): string => `FROM ${empty}
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY noise.bin /opt/noise.bin
RUN mkdir -p /etc/app && echo base > /etc/app/origin && echo doomed > /etc/app/doomed
`;

export const APP_DOCKERFILE = (base: string): string => `FROM ${base}
RUN echo "hello from the app" > /greeting && ln /greeting /greeting.hard && ln -s /greeting /greeting.link
RUN rm /etc/app/doomed && mkdir -p /data/empty-dir
ENV APP_MODE=test
CMD ["/bin/sh", "-c", "cat /greeting"]
`;

export const WORKER_DOCKERFILE = (base: string): string => `FROM ${base}
RUN echo "worker ready" > /worker.txt
CMD ["/bin/cat", "/worker.txt"]
`;

export interface TestImages {
  base: string;
  app: string;
  worker: string;
}

/** Builds the test images on an engine under a tag prefix, returning their tags. */
export async function buildTestImages(dockerHost: string, prefix = 'handover-test'): Promise<TestImages> {
  const empty = `${prefix}/empty:1`;
  const base = `${prefix}/base:1`;
  const app = `${prefix}/app:1`;
  const worker = `${prefix}/worker:1`;
  await importImage(dockerHost, empty, []);
  await buildImage(dockerHost, base, BASE_DOCKERFILE(empty), { busybox: await busyboxBinary(), 'noise.bin': randomBytes(3 * 1024 * 1024) });
  await buildImage(dockerHost, app, APP_DOCKERFILE(base));
  await buildImage(dockerHost, worker, WORKER_DOCKERFILE(base));
  return { base, app, worker };
}

/**
 * The test images under `prefix` on an engine, built once: a file that only
 * reads them takes those an earlier file (or block) built on the same
 * engine, and builds them when one is missing.
 */
export async function sharedTestImages(dockerHost: string, prefix = 'handover-shared'): Promise<TestImages> {
  const images = { base: `${prefix}/base:1`, app: `${prefix}/app:1`, worker: `${prefix}/worker:1` };
  const present = await Promise.all([`${prefix}/empty:1`, images.base, images.app, images.worker].map(async (ref) => await imageId(dockerHost, ref)));
  if (present.every((id) => id !== undefined)) return images;
  return await buildTestImages(dockerHost, prefix);
}
