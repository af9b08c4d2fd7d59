/** Annotation keys in the bundle. Standard ones first, then ours. */
export const Annotation = {
  /** The tag an image has in the bundle: what `skopeo inspect oci:DIR:TAG` looks up. */
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  /** The fully qualified name, as containerd and Docker write it. */
  containerdName: 'io.containerd.image.name',
  formatVersion: 'io.github.image-handover.format',
  /** The image id a classic Docker engine reports for this image: its config digest. */
  imageId: 'io.github.image-handover.image.id',
  /** The id the producing engine reported (a manifest digest on containerd-backed engines). */
  sourceId: 'io.github.image-handover.source.id',
  /** The source reference the producer exported, as given. */
  sourceRef: 'io.github.image-handover.source.ref',
  /** A layer's size before compression. */
  uncompressedSize: 'io.github.image-handover.uncompressed.size',
  producerTool: 'io.github.image-handover.producer.tool',
  ciProvider: 'io.github.image-handover.ci.provider',
  ciRepository: 'io.github.image-handover.ci.repository',
  ciRun: 'io.github.image-handover.ci.run',
  ciJob: 'io.github.image-handover.ci.job',
  ciCommit: 'io.github.image-handover.ci.commit',
  ciRef: 'io.github.image-handover.ci.ref',
} as const;

/**
 * The bundle format this version writes and the newest it reads: 2 when an
 * image is an image index (several platforms, or one with attestations).
 */
export const FORMAT_VERSION = 2;
