/**
 * Marks an image handover puts on an engine for its own use — a load's
 * partial images, an export's bottom image — with the image it is part of.
 * Such images are removed when the work ends; `docker image prune` removes
 * any a killed process left.
 */
export const PARTIAL_IMAGE_LABEL = 'io.github.image-handover.partial-of';
