/**
 * Every default in one place. The actions' action.yml files state the same
 * values (a test holds them to these).
 */
export const Defaults = {
  /** The bundle's name in the store: the plan's artifact name. */
  bundleName: 'docker-image',
  /** Days GitHub keeps the artifact: the plan's retention, enough for one run's jobs. */
  retentionDays: 1,
  /** Layer compression: zstd level 3, the expert shell pipeline's choice. */
  compression: 'zstd',
  /** The bottom layer's size from which an export gives it a head start. */
  headStartBytes: 64 * 1024 * 1024,
  /** Layer bytes after which a load ends and the next begins: below that, a load's fixed cost outweighs the overlap. */
  loadStepBytes: 32 * 1024 * 1024,
  /** The engine when DOCKER_HOST is unset. */
  dockerHost: 'unix:///var/run/docker.sock',
} as const;
