/**
 * The kinds of engine the integration tests run against, as
 * scripts/engines.sh starts them. Shared by the global setup (which starts
 * them) and the tests (which receive them through `inject('engineKinds')`).
 */
export const ENGINE_KINDS = ['20.10', '28-classic', '28-containerd', 'podman'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

export function isEngineKind(value: string): value is EngineKind {
  return (ENGINE_KINDS as readonly string[]).includes(value);
}

/** The docker CLI that matches a kind (its own release; buildx as a plugin under `config`). */
export interface KindCli {
  docker: string;
  /** A DOCKER_CONFIG directory whose cli-plugins/ holds the kind's buildx, where it has one. */
  config: string;
}

export interface RunningKind {
  kind: EngineKind;
  available: true;
  /** The engine's version, as `engines.sh kinds` reads it (`28.5.2+dfsg4`, `4.3.1`). */
  version: string;
  /** DOCKER_HOST of the producer engine. */
  producer: string;
  /** DOCKER_HOSTs of the consumer engines (at least one). */
  consumers: string[];
  cli: KindCli;
}

export interface MissingKind {
  kind: EngineKind;
  available: false;
  /** Why it is not running: what engines.sh said, or that it was not asked for. */
  reason: string;
}

export type KindEngines = RunningKind | MissingKind;
