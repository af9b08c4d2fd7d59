/**
 * Handover channels: how an image built in one job reaches another. One
 * concept with several kinds — a workflow artifact holding an image archive
 * (any upload/download action, a file or a directory), our bundle actions, a
 * marketplace image-artifact action, actions/cache, or a registry (pushed by
 * an action or a command, pulled explicitly or through `docker run`,
 * compose, `container:` or `services:`). Rules ask which channel carries
 * which image to which job, and where the consumer fetches and acquires it.
 */
import { posix } from 'node:path';
import { not, TRUE, type Expr } from '../expr/syntax.ts';
import { isLiteral, normalizeImage } from '../image-names.ts';
import { stepScope, type Flow } from './dataflow.ts';
import { artifactName, type ArtifactDownload, type ArtifactUpload, type CacheStep, type Facts, type ImageExport, type ImageLoad, type Located, type RegistryPull, type RegistryPush, type Site } from './facts.ts';
import { cannotHold, canHold, type Clause } from './solver.ts';
import { isKnownText, jobsRead, render } from './symbols.ts';
import { transitiveNeeds, type Job } from './workflow.ts';

export type ChannelKind = 'artifact' | 'bundle' | 'image-artifact' | 'cache' | 'registry';

export interface Channel {
  kind: ChannelKind;
  producer: Job;
  /** The producer's side: the upload, cache save or push. */
  send: Site;
  upload: ArtifactUpload | undefined;
  cache: CacheStep | undefined;
  push: RegistryPush | undefined;
  /** The exports whose archive travels (artifact and cache channels). */
  exports: ImageExport[];
  /** The tags the image travels under. */
  images: Located[];
}

export type Fetch =
  | { kind: 'download'; download: ArtifactDownload }
  | { kind: 'load-action'; load: ImageLoad }
  | { kind: 'cache'; cache: CacheStep }
  | { kind: 'pull'; pull: RegistryPull };

export interface Receipt {
  channel: Channel;
  consumer: Job;
  fetch: Fetch;
  /** Where the image is in the consumer's engine: the docker load, the load step, the pull. */
  acquire: ImageLoad | RegistryPull | undefined;
  /** False when the consumer fetches a name no producer sends: linked by what it loads instead. */
  nameMatches: boolean;
  /** Registry only: the consumer runs only when the image was pushed (a deploy, a smoke test of what was published). */
  publishOnly: boolean;
}

export interface Channels {
  channels: Channel[];
  receipts: Receipt[];
  /** `docker load`s of an archive no download or cache restore before them in the job provides. */
  unfetchedLoads: ImageLoad[];
  /** Cache restores whose archive is loaded but which no job's cache save matches (key or path). */
  unmatchedRestores: CacheStep[];
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.zst|tar\.zstd|oci)$/;

/** Workspace-relative and absolute spellings of the same place compare equal. */
export function normalizePath(path: string): string {
  const relative = path.trim().replace(/^(\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\}?)\/?/, '').replace(/\/+$/, '');
  return posix.normalize(relative === '' ? '.' : relative);
}

/** `file` is `path`, inside the directory `path`, or matched by the glob `path` (`*`, `**`, `?`). */
export function isUnder(file: string, path: string): boolean {
  const f = normalizePath(file);
  const p = normalizePath(path);
  if (/[*?]/.test(p)) {
    const pattern = p
      .split('**')
      .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
      .join('.*')
      .replace(/\.\*\//g, '(.*/)?');
    return new RegExp(`^${pattern}(/.*)?$`).test(f);
  }
  return f === p || p === '.' || f.startsWith(`${p}/`);
}

function isImageArchive(path: string): boolean {
  return ARCHIVE.test(path.trim());
}

export function sameImage(flow: Flow, a: Located, b: Located): boolean {
  return normalizeImage(render(flow, a.expr, a.scope)) === normalizeImage(render(flow, b.expr, b.scope));
}

export function sameRepository(flow: Flow, a: Located, b: Located): boolean {
  const x = repositoryOf(render(flow, a.expr, a.scope));
  const y = repositoryOf(render(flow, b.expr, b.scope));
  return x !== '' && x === y;
}

/** The repository of a rendered reference: without a tag or digest, and without `docker.io/library/`. */
export function repositoryOf(rendered: string): string {
  const normalized = normalizeImage(rendered);
  const at = normalized.indexOf('@');
  const withoutDigest = at === -1 ? normalized : normalized.slice(0, at);
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

function exportsCoveredBy(facts: Facts, job: Job, paths: readonly Located[]): ImageExport[] {
  return facts.exports.filter((e) => e.job === job && e.file !== undefined && paths.some((p) => isLiteral(p.value) ? isUnder(e.file?.value ?? '', p.value) : true));
}

function isImageUpload(facts: Facts, upload: ArtifactUpload): boolean {
  if (upload.kind !== 'artifact') return true;
  if (upload.paths.some((p) => isImageArchive(p.value))) return true;
  return exportsCoveredBy(facts, upload.job, upload.paths).length > 0;
}

/** When the push at a site happens, as clauses in the producer's scope. */
function pushCondition(flow: Flow, push: RegistryPush): Clause[] {
  const scope = stepScope(push.job, push.step);
  const clauses: Clause[] = [
    { expr: flow.jobCondition(push.job), scope: { level: 'job', job: push.job } },
    { expr: flow.stepCondition(push.step), scope },
  ];
  if (push.decidedBy !== undefined) clauses.push({ expr: flow.template(push.decidedBy.value), scope });
  if (push.command !== undefined) clauses.push({ expr: push.command.path, scope });
  return clauses;
}

/** Where a consumer's use of an image happens, as clauses. */
export function siteCondition(flow: Flow, site: Site, path: Expr = TRUE): Clause[] {
  const clauses: Clause[] = [{ expr: flow.jobCondition(site.job), scope: { level: 'job', job: site.job } }];
  const step = site.step;
  if (step !== undefined) {
    clauses.push({ expr: flow.stepCondition(step), scope: stepScope(site.job, step) });
    if (path.kind !== 'literal') clauses.push({ expr: path, scope: stepScope(site.job, step) });
  }
  return clauses;
}

/** The conjunction of clauses of one scope (the push's own condition, to negate as a whole). */
function conjunction(clauses: readonly Clause[]): Expr | undefined {
  return clauses.length === 0 ? undefined : clauses.map((c) => c.expr).reduce((a, b) => ({ kind: 'and', left: a, right: b }));
}

class Builder {
  readonly channels: Channel[] = [];
  readonly receipts: Receipt[] = [];
  readonly unfetchedLoads: ImageLoad[] = [];
  readonly unmatchedRestores: CacheStep[] = [];
  private readonly flow: Flow;
  private readonly facts: Facts;

  constructor(flow: Flow, facts: Facts) {
    this.flow = flow;
    this.facts = facts;
  }

  build(): Channels {
    this.producers();
    for (const job of this.flow.workflow.jobs) this.consumer(job);
    return { channels: this.channels, receipts: this.receipts, unfetchedLoads: this.unfetchedLoads, unmatchedRestores: this.unmatchedRestores };
  }

  private producers(): void {
    const { facts } = this;
    for (const upload of facts.uploads) {
      if (!isImageUpload(facts, upload)) continue;
      const exports =
        upload.kind === 'artifact'
          ? exportsCoveredBy(facts, upload.job, upload.paths)
          : [...facts.exports.filter((e) => e.step === upload.step), ...exportsCoveredBy(facts, upload.job, upload.paths).filter((e) => e.step !== upload.step)];
      const kind: ChannelKind = upload.kind;
      this.channels.push({ kind, producer: upload.job, send: upload, upload, cache: undefined, push: undefined, exports, images: exports.flatMap((e) => e.tags) });
    }
    for (const cache of facts.caches.filter((c) => c.saves)) {
      const exports = exportsCoveredBy(facts, cache.job, cache.paths).filter((e) => e.step.index < cache.step.index || cache.restores);
      if (exports.length === 0) continue;
      this.channels.push({ kind: 'cache', producer: cache.job, send: cache, upload: undefined, cache, push: undefined, exports, images: exports.flatMap((e) => e.tags) });
    }
    for (const push of facts.pushes) {
      this.channels.push({ kind: 'registry', producer: push.job, send: push, upload: undefined, cache: undefined, push, exports: [], images: push.refs });
    }
  }

  private consumer(job: Job): void {
    const { facts, flow } = this;
    const downloads = facts.downloads.filter((d) => d.job === job);
    const restores = facts.caches.filter((c) => c.job === job && c.restores);
    const dockerLoads = facts.loads.filter((l) => l.job === job && l.kind === 'docker');
    const artifactChannels = this.channels.filter((c) => c.kind === 'artifact' && c.producer !== job);
    for (const download of downloads) {
      const name = download.name === undefined ? undefined : render(flow, download.name.expr, download.name.scope);
      const loads = dockerLoads.filter((l) => l.step.index > download.step.index);
      const named = artifactChannels.filter((c) => name === undefined || !isKnownText(name) || (c.upload !== undefined && (artifactName(c.upload) ?? 'artifact') === name));
      // A name no one uploads: link the consumer by the archive it loads, so its other problems are still seen.
      const byFile = artifactChannels.filter((c) => loads.some((l) => l.input !== undefined && c.exports.some((e) => e.file !== undefined && posix.basename(e.file.value) === posix.basename(l.input?.value ?? ''))));
      const linked = named.length > 0 ? named : loads.length === 0 ? [] : byFile.length > 0 ? byFile : artifactChannels;
      for (const channel of linked) {
        const load = loads.find((l) => this.loadsFrom(l, channel, download)) ?? loads[0];
        this.receipts.push({ channel, consumer: job, fetch: { kind: 'download', download }, acquire: load, nameMatches: named.length > 0, publishOnly: false });
      }
    }
    for (const load of facts.loads.filter((l) => l.job === job && l.kind !== 'docker')) {
      const kind: ChannelKind = load.kind === 'action' ? 'bundle' : 'image-artifact';
      // Our load action fetches a bundle by name; an artifact of that name is what it would get (and fail on).
      const candidates = this.channels.filter((c) => (c.kind === kind || (kind === 'bundle' && c.kind === 'artifact')) && c.producer !== job);
      const name = load.kind === 'action' ? artifactName(load) : load.name?.value;
      const named = candidates.filter((c) => {
        if (c.upload === undefined) return false;
        if (kind === 'image-artifact') return load.tags.some((tag) => c.images.some((image) => sameImage(flow, tag, image)));
        return artifactName(c.upload) === name || name === undefined || !isLiteral(name);
      });
      for (const channel of named.length > 0 ? named : candidates) {
        this.receipts.push({ channel, consumer: job, fetch: { kind: 'load-action', load }, acquire: load, nameMatches: named.length > 0, publishOnly: false });
      }
    }
    for (const restore of restores) {
      const channels = this.channels.filter((c) => c.kind === 'cache' && c.cache !== undefined && c.producer !== job && this.sameCache(c.cache, restore));
      const loaded = dockerLoads.some((l) => l.step.index > restore.step.index && l.input !== undefined && restore.paths.some((p) => isUnder(l.input?.value ?? '', p.value)));
      if (channels.length === 0 && loaded && this.channels.some((c) => c.kind === 'cache' && c.producer !== job)) this.unmatchedRestores.push(restore);
      for (const channel of channels) {
        const load = dockerLoads.find((l) => l.step.index > restore.step.index && l.input !== undefined && restore.paths.some((p) => isUnder(l.input?.value ?? '', p.value)));
        this.receipts.push({ channel, consumer: job, fetch: { kind: 'cache', cache: restore }, acquire: load, nameMatches: true, publishOnly: false });
      }
    }
    for (const load of dockerLoads) {
      const fetched = downloads.some((d) => d.step.index < load.step.index) || restores.some((r) => r.step.index < load.step.index);
      const madeHere = facts.exports.some((e) => e.job === job && e.step.index <= load.step.index);
      if (!fetched && !madeHere) this.unfetchedLoads.push(load);
    }
    this.registry(job);
  }

  /** Does this docker load read the channel's archive where the download puts it? */
  private loadsFrom(load: ImageLoad, channel: Channel, download: ArtifactDownload): boolean {
    const input = load.input?.value;
    if (input === undefined || !isLiteral(input)) return true;
    return downloadedFiles(channel, download).some((file) => normalizePath(file) === normalizePath(input));
  }

  private loggedInto(producer: Job, rendered: string): boolean {
    const first = rendered.split('/')[0] ?? '';
    const host = rendered.includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io';
    return this.facts.logins.some((l) => l.job === producer && (l.registry === host || host.endsWith(l.registry)));
  }

  private sameCache(saved: CacheStep, restored: CacheStep): boolean {
    const paths = saved.paths.some((p) => restored.paths.some((q) => normalizePath(p.value) === normalizePath(q.value)));
    if (!paths) return false;
    const key = (c: CacheStep): string => (c.key === undefined ? '' : render(this.flow, this.flow.template(c.key.value), stepScope(c.job, c.step)));
    const savedKey = key(saved);
    const restoredKey = key(restored);
    // Keys made of literals and run contexts (github.sha, runner.os…) compare as text; others may match at run time.
    const comparable = (key: string): boolean => !/\{(steps\.|needs\.|\?|\$|~|expr|…)/.test(key);
    const prefixes = restored.restoreKeys.map((prefix) => render(this.flow, this.flow.template(prefix), stepScope(restored.job, restored.step)));
    return savedKey === restoredKey || prefixes.some((prefix) => savedKey.startsWith(prefix)) || !comparable(savedKey) || !comparable(restoredKey);
  }

  private registry(job: Job): void {
    const { facts, flow } = this;
    const pushes = this.channels.filter((c) => c.kind === 'registry' && c.producer !== job);
    for (const pull of facts.pulls.filter((p) => p.job === job)) {
      const readsJobs = jobsRead(flow, pull.ref.expr, pull.ref.scope);
      for (const channel of pushes) {
        const push = channel.push;
        if (push === undefined) continue;
        const viaOutputs = readsJobs.has(channel.producer);
        // The pushed repository is this run's image only in a job that runs after the push: a job unrelated to the
        // build that pulls `:latest` takes an older image (a cache), not this one.
        const after = transitiveNeeds(flow.workflow, job).has(channel.producer.id);
        const sameRepo = after && channel.images.some((image) => sameRepository(flow, image, pull.ref));
        // bake pushes what its file names: a job after it pulling from the registry it logged into takes one of those.
        const sameRegistry = channel.images.length === 0 && transitiveNeeds(flow.workflow, job).has(channel.producer.id) && this.loggedInto(channel.producer, render(flow, pull.ref.expr, pull.ref.scope));
        if (!viaOutputs && !sameRepo && !sameRegistry) continue;
        const guard = siteCondition(flow, pull, pull.path);
        const pushed = pushCondition(flow, push);
        if (!canHold(flow, [...guard, ...pushed])) continue;
        const pushedExpr = conjunction(pushed.slice(1));
        const pushScope = stepScope(push.job, push.step);
        const conditional = pushedExpr !== undefined && !cannotHold(flow, [pushed[0] ?? { expr: TRUE, scope: pushScope }, { expr: not(pushedExpr), scope: pushScope }]);
        const publishOnly = conditional && pushedExpr !== undefined && cannotHold(flow, [...guard, { expr: not(pushedExpr), scope: pushScope }]);
        this.receipts.push({ channel, consumer: job, fetch: { kind: 'pull', pull }, acquire: pull, nameMatches: true, publishOnly });
        break;
      }
    }
  }
}

/** Where a download puts the files an upload sent: the download path joined with each file's path below the upload's root. */
export function downloadedFiles(channel: Channel, download: ArtifactDownload): string[] {
  const upload = channel.upload;
  if (upload === undefined) return [];
  const directory = download.path?.value ?? '.';
  const files = channel.exports.map((e) => e.file?.value).filter((f): f is string => f !== undefined);
  const paths = upload.paths.map((p) => p.value).filter((p) => !/[*?]/.test(p));
  const sent = files.length > 0 ? files : paths.filter(isImageArchive);
  const root = artifactRoot(paths);
  // Without a name, download-artifact puts each artifact in a directory of its own name.
  const base = download.name === undefined ? posix.join(directory, artifactName(upload) ?? 'artifact') : directory;
  return sent.map((file) => posix.join(base, posix.relative(root, normalizePath(file))));
}

/** The least common ancestor of an upload's paths: what the artifact's files are relative to. */
export function artifactRoot(paths: readonly string[]): string {
  const normalized = paths.map((p) => (isImageArchive(p) ? posix.dirname(normalizePath(p)) : normalizePath(p)));
  const [first, ...rest] = normalized;
  if (first === undefined) return '.';
  let root = first;
  for (const path of rest) {
    while (root !== '.' && root !== '/' && !(path === root || path.startsWith(`${root}/`))) root = posix.dirname(root);
  }
  return root;
}

export function buildChannels(flow: Flow, facts: Facts): Channels {
  return new Builder(flow, facts).build();
}

/** The receipts of a job, and the jobs it takes images from. */
export function receiptsOf(channels: Channels, job: Job): Receipt[] {
  return channels.receipts.filter((r) => r.consumer === job);
}

/** Jobs the consumer must need: producers of what it receives that are not among its needs. */
export function missingNeeds(flow: Flow, channels: Channels, job: Job): Job[] {
  const before = transitiveNeeds(flow.workflow, job);
  const missing = new Set<Job>();
  for (const receipt of receiptsOf(channels, job)) if (!before.has(receipt.channel.producer.id)) missing.add(receipt.channel.producer);
  return [...missing];
}

