/**
 * What each step does with images: builds, pushes, exports, uploads and
 * downloads, caches, loads, verifies, pulls (explicitly, or implicitly through
 * `docker run`, compose, `container:` and `services:`), logins, and every
 * place an image reference is used. Values keep their expression and the
 * scope they are read in, so the data-flow model can follow them.
 */
import {
  ACTION_DEFAULT_ARTIFACT_NAME,
  actionName,
  cacheRole,
  imageArtifactName,
  imageArtifactRole,
  isBakeAction,
  isBuildPushAction,
  isDownloadArtifact,
  isExportAction,
  isLoadAction,
  isLoginAction,
  isUploadArtifact,
  listItems,
} from '../actions.ts';
import { TRUE, literal, parseTemplate, type Expr } from '../expr/syntax.ts';
import { engineCommand, flagValue, positionalArgs, type EngineCommand } from '../shell/engine.ts';
import type { SimpleCommand, Word } from '../shell/script.ts';
import { wordExpr } from '../shell/words.ts';
import { stepScope, type Flow, type Scope } from './dataflow.ts';
import type { Field, Job, Step } from './workflow.ts';

/** A value found in the workflow: its text as written, where it starts, and what it stands for. */
export interface Located {
  value: string;
  offset: number;
  expr: Expr;
  scope: Scope;
  /** As written in a script, quotes and all (script words only). */
  raw?: string;
}

/** Where a fact is: its job, its step (none for `container:` and `services:`), and the offset findings point at. */
export interface Site {
  job: Job;
  step: Step | undefined;
  offset: number;
}

export interface StepSite extends Site {
  step: Step;
}

export interface ImageBuild extends StepSite {
  how: 'build-push-action' | 'bake' | 'command';
  /** `outputs: type=docker|oci,dest=FILE`. */
  dest: Located | undefined;
  /** The image ends up in the engine (`load: true`, `docker build`). */
  load: boolean;
  push: Field | undefined;
  cacheTo: Field | undefined;
  cacheFrom: Field | undefined;
  tags: Located[];
}

export interface RegistryPush extends StepSite {
  /** The references pushed (none known for bake). */
  refs: Located[];
  /** The build-push-action's `push:` input, when the push is decided there. */
  decidedBy: Field | undefined;
  /** The script command, for pushes in a run step. */
  command: SimpleCommand | undefined;
}

export interface ImageExport extends StepSite {
  kind: 'build' | 'save' | 'action' | 'image-artifact';
  /** The archive written, for `build` and `save`. */
  file: Located | undefined;
  tags: Located[];
}

export type UploadKind = 'artifact' | 'bundle' | 'image-artifact';

export interface ArtifactUpload extends StepSite {
  kind: UploadKind;
  name: Located | undefined;
  paths: Located[];
  retention: Field | undefined;
}

export interface ArtifactDownload extends StepSite {
  name: Located | undefined;
  path: Located | undefined;
}

export interface CacheStep extends StepSite {
  paths: Located[];
  key: Field | undefined;
  restoreKeys: string[];
  saves: boolean;
  restores: boolean;
}

export interface ImageLoad extends StepSite {
  kind: 'docker' | 'action' | 'image-artifact';
  /** The archive given to `docker load`. */
  input: Located | undefined;
  /** The artifact our load action or a marketplace download fetches. */
  name: Located | undefined;
  /** Our load action verifies what it loads. */
  verifies: boolean;
  /** Our load action's `expect:` (the pinned bundle digest). */
  expect: Field | undefined;
  /** The tags it gives (our load action's `tags:`, the marketplace download's `image:`). */
  tags: Located[];
}

export interface ImageVerify extends StepSite {
  tag: Located;
}

export type PullKind = 'pull' | 'run' | 'compose' | 'container' | 'service';

export interface RegistryPull extends Site {
  kind: PullKind;
  ref: Located;
  /** When the pulling command runs within its step's script (true outside scripts). */
  path: Expr;
}

export interface RegistryLogin extends StepSite {
  how: string;
  /** The registry host it logs into (`docker.io` when none is named). */
  registry: string;
}

/** An image reference handed to a docker command, an action input, a job container or service, or a called workflow. */
export interface ImageUse extends Site {
  what: string;
  ref: Located;
  /** When the using command runs within its step's script (true outside scripts). */
  path: Expr;
}

/** `docker tag SOURCE TARGET`. */
export interface ImageRetag extends StepSite {
  source: Located;
  target: Located;
}

export interface Facts {
  builds: ImageBuild[];
  pushes: RegistryPush[];
  exports: ImageExport[];
  uploads: ArtifactUpload[];
  downloads: ArtifactDownload[];
  caches: CacheStep[];
  loads: ImageLoad[];
  verifies: ImageVerify[];
  pulls: RegistryPull[];
  logins: RegistryLogin[];
  uses: ImageUse[];
  retags: ImageRetag[];
}

const IMAGE_INPUT = /image|^tags?$|^ref$|^subject-name$/i;

function fromField(field: Field, scope: Scope, index = 0, text = ''): Located {
  const value = text === '' ? field.value : text;
  return { value, offset: field.offsetOf(index, text), expr: literalOrTemplate(value), scope };
}

function literalOrTemplate(value: string): Expr {
  return value.includes('${{') ? parseTemplateCached(value) : literal(value);
}

const templates = new Map<string, Expr>();
function parseTemplateCached(value: string): Expr {
  let parsed = templates.get(value);
  if (parsed === undefined) {
    parsed = parseTemplate(value);
    if (templates.size > 5000) templates.clear();
    templates.set(value, parsed);
  }
  return parsed;
}

function listOf(field: Field | undefined, scope: Scope): Located[] {
  if (field === undefined) return [];
  return listItems(field.value).map((item) => fromField(field, scope, item.index, item.text));
}

class Collector {
  readonly facts: Facts = {
    builds: [],
    pushes: [],
    exports: [],
    uploads: [],
    downloads: [],
    caches: [],
    loads: [],
    verifies: [],
    pulls: [],
    logins: [],
    uses: [],
    retags: [],
  };
  private readonly flow: Flow;

  constructor(flow: Flow) {
    this.flow = flow;
  }

  job(job: Job): void {
    const jobScope: Scope = { level: 'job', job };
    const image = (field: Field, kind: PullKind, what: string): void => {
      const ref = fromField(field, jobScope);
      const at = { job, step: undefined, offset: field.offsetOf(0), path: TRUE };
      this.facts.pulls.push({ ...at, kind, ref });
      this.facts.uses.push({ ...at, what, ref });
    };
    if (job.container !== undefined) image(job.container, 'container', 'the job container');
    for (const [name, service] of job.services) image(service, 'service', `service '${name}'`);
    if (job.calls !== undefined) {
      for (const [name, value] of job.callWith) {
        if (IMAGE_INPUT.test(name) && value.value.includes('${{')) {
          this.facts.uses.push({ job, step: undefined, offset: value.offsetOf(0), what: `input '${name}' of the called workflow`, ref: fromField(value, jobScope), path: TRUE });
        }
      }
    }
    for (const step of job.steps) {
      if (step.uses !== undefined) this.action(job, step, step.uses.value);
      const script = this.flow.script(job, step);
      if (script !== undefined) this.script(job, step, script.field, script.script.commands);
    }
  }

  private action(job: Job, step: Step, uses: string): void {
    const scope = stepScope(job, step);
    const at: StepSite = { job, step, offset: step.offset };
    const input = (name: string): Field | undefined => step.with.get(name);
    const located = (name: string): Located | undefined => {
      const field = input(name);
      return field === undefined ? undefined : fromField(field, scope);
    };
    if (isBuildPushAction(uses)) {
      const outputs = input('outputs');
      const dest = outputs === undefined ? undefined : /type=(?:docker|oci)\b[^\n]*?\bdest=([^,\s]+)/.exec(outputs.value);
      const build: ImageBuild = {
        ...at,
        how: 'build-push-action',
        dest: outputs !== undefined && dest?.[1] !== undefined ? fromField(outputs, scope, dest.index + dest[0].indexOf(dest[1]), dest[1]) : undefined,
        load: input('load')?.value === 'true',
        push: input('push'),
        cacheTo: input('cache-to'),
        cacheFrom: input('cache-from'),
        tags: listOf(input('tags'), scope),
      };
      this.facts.builds.push(build);
      if (build.dest !== undefined) this.facts.exports.push({ ...at, kind: 'build', file: build.dest, tags: build.tags });
      const push = input('push');
      if (push !== undefined && push.value !== 'false') this.facts.pushes.push({ ...at, refs: build.tags, decidedBy: push, command: undefined });
      else if (/type=registry|push=true/.test(outputs?.value ?? '')) this.facts.pushes.push({ ...at, refs: build.tags, decidedBy: undefined, command: undefined });
    } else if (isBakeAction(uses)) {
      this.facts.builds.push({ ...at, how: 'bake', dest: undefined, load: input('load')?.value === 'true', push: input('push'), cacheTo: undefined, cacheFrom: undefined, tags: [] });
      const push = input('push');
      if (push !== undefined && push.value !== 'false') this.facts.pushes.push({ ...at, refs: [], decidedBy: push, command: undefined });
    } else if (isExportAction(uses)) {
      const tags = [...listOf(input('images'), scope), ...listOf(input('tag'), scope)];
      const archive = located('archive');
      this.facts.exports.push({ ...at, kind: 'action', file: archive, tags });
      this.facts.uploads.push({ ...at, kind: 'bundle', name: located('name'), paths: archive === undefined ? [] : [archive], retention: input('retention-days') });
    } else if (isLoadAction(uses)) {
      const tags = listOf(input('tags'), scope);
      this.facts.loads.push({ ...at, kind: 'action', input: undefined, name: located('name'), verifies: true, expect: input('expect'), tags });
      for (const tag of tags) this.facts.verifies.push({ ...at, tag });
    } else if (isUploadArtifact(uses)) {
      this.facts.uploads.push({ ...at, kind: 'artifact', name: located('name'), paths: listOf(input('path'), scope), retention: input('retention-days') });
    } else if (isDownloadArtifact(uses)) {
      this.facts.downloads.push({ ...at, name: located('name'), path: located('path') });
    } else if (imageArtifactRole(uses) !== undefined) {
      const image = located('image');
      const name = image === undefined ? undefined : { ...image, value: imageArtifactName(image.value), expr: literal(imageArtifactName(image.value)) };
      if (imageArtifactRole(uses) === 'upload') {
        this.facts.exports.push({ ...at, kind: 'image-artifact', file: undefined, tags: image === undefined ? [] : [image] });
        this.facts.uploads.push({ ...at, kind: 'image-artifact', name, paths: [], retention: input('retention_days') ?? input('retentionDays') });
      } else {
        this.facts.loads.push({ ...at, kind: 'image-artifact', input: undefined, name, verifies: false, expect: undefined, tags: image === undefined ? [] : [image] });
      }
    } else if (cacheRole(uses) !== undefined) {
      const role = cacheRole(uses) ?? { saves: false, restores: false };
      this.facts.caches.push({ ...at, paths: listOf(input('path'), scope), key: input('key'), restoreKeys: listItems(input('restore-keys')?.value ?? '').map((i) => i.text), ...role });
    } else if (isLoginAction(uses)) {
      const registry = input('registry')?.value.trim() ?? (actionName(uses) === 'aws-actions/amazon-ecr-login' ? 'amazonaws.com' : 'docker.io');
      this.facts.logins.push({ ...at, offset: step.uses?.offsetOf(0) ?? step.offset, how: actionName(uses), registry });
    }
    for (const [name, value] of step.with) {
      if (!IMAGE_INPUT.test(name) || !value.value.includes('${{')) continue;
      // build-push-action uses its tags as references only when it pushes: the push decision guards them.
      const push = isBuildPushAction(uses) && name === 'tags' ? input('push') : undefined;
      if (isBuildPushAction(uses) && name === 'tags' && (push === undefined || push.value === 'false')) continue;
      const path = push === undefined ? TRUE : parseTemplateCached(push.value);
      for (const item of isBuildPushAction(uses) && name === 'tags' ? listOf(value, scope) : [fromField(value, scope)]) {
        this.facts.uses.push({ ...at, offset: item.offset, what: `input '${name}' of ${actionName(uses)}`, ref: item, path });
      }
    }
  }

  private script(job: Job, step: Step, field: Field, commands: readonly SimpleCommand[]): void {
    const scope = stepScope(job, step);
    const offsetOf = (index: number): number => field.offsetOf(index, field.value.slice(index, index + 12));
    const at = (index: number): StepSite => ({ job, step, offset: offsetOf(index) });
    const loc = (word: Word): Located => ({ value: word.text, offset: offsetOf(word.index), expr: wordExpr(word), scope, raw: word.raw });
    const use = (engine: EngineCommand, word: Word | undefined): void => {
      if (word === undefined) return;
      this.facts.uses.push({ ...at(word.index), what: `${engine.engine} ${engine.verb}`, ref: loc(word), path: engine.command.path });
    };
    for (const command of commands) {
      const engine = engineCommand(command);
      if (engine === undefined) continue;
      const positional = positionalArgs(engine.args);
      switch (engine.verb) {
        case 'login':
          this.facts.logins.push({ ...at(command.index), how: `${engine.engine} login`, registry: positional[0]?.text ?? 'docker.io' });
          break;
        case 'pull': {
          const ref = positional[0];
          if (ref === undefined) break;
          this.facts.pulls.push({ ...at(command.index), kind: 'pull', ref: loc(ref), path: command.path });
          use(engine, ref);
          break;
        }
        case 'push': {
          const ref = positional[0];
          if (ref === undefined) break;
          this.facts.pushes.push({ ...at(command.index), refs: [loc(ref)], decidedBy: undefined, command });
          use(engine, ref);
          break;
        }
        case 'load': {
          const file = flagValue(engine.args, ['--input', '-i']);
          const piped = command.pipedFrom === undefined ? undefined : positionalArgs(command.pipedFrom.words.slice(1), new Set(['-o', '--output'])).at(-1);
          const input =
            file !== undefined
              ? loc(file)
              : command.redirectIn !== undefined
                ? { value: command.redirectIn, offset: offsetOf(command.index), expr: literal(command.redirectIn), scope }
                : piped !== undefined
                  ? loc(piped)
                  : undefined;
          this.facts.loads.push({ ...at(command.index), kind: 'docker', input, name: undefined, verifies: false, expect: undefined, tags: [] });
          break;
        }
        case 'inspect':
          for (const tag of positionalArgs(engine.args, new Set(['-f', '--format', '--type']))) {
            this.facts.verifies.push({ ...at(tag.index), tag: loc(tag) });
            use(engine, tag);
          }
          break;
        case 'save': {
          const output = flagValue(engine.args, ['--output', '-o']);
          const tags = positionalArgs(engine.args, new Set(['-o', '--output', '--platform']));
          const file = output !== undefined ? loc(output) : this.savedTo(command, commands, scope, offsetOf);
          this.facts.exports.push({ ...at(command.index), kind: 'save', file, tags: tags.map(loc) });
          for (const tag of tags) use(engine, tag);
          break;
        }
        case 'build':
        case 'bake': {
          const tags = engine.verb === 'build' ? [flagValue(engine.args, ['-t', '--tag'])].filter((w): w is Word => w !== undefined).map(loc) : [];
          const pushes = engine.args.some((w) => w.text === '--push' || /push=true|type=registry/.test(w.text));
          const loads = engine.verb === 'build' && !engine.args.some((w) => w.text === '--push' || w.text.startsWith('--output') || w.text === '-o');
          this.facts.builds.push({ ...at(command.index), how: engine.verb === 'bake' ? 'bake' : 'command', dest: undefined, load: loads, push: undefined, cacheTo: undefined, cacheFrom: undefined, tags });
          if (pushes) this.facts.pushes.push({ ...at(command.index), refs: tags, decidedBy: undefined, command });
          break;
        }
        case 'tag': {
          const [source, target] = positional;
          use(engine, source);
          if (source !== undefined && target !== undefined) this.facts.retags.push({ ...at(command.index), source: loc(source), target: loc(target) });
          break;
        }
        case 'run':
        case 'create': {
          const image = positional[0];
          if (image === undefined) break;
          this.facts.pulls.push({ ...at(image.index), kind: 'run', ref: loc(image), path: command.path });
          use(engine, image);
          break;
        }
        case 'compose': {
          const verb = positionalArgs(engine.args, new Set(['-f', '--file', '-p', '--project-name', '--profile', '--env-file'])).at(0)?.text;
          if (verb === undefined || !['up', 'run', 'create', 'pull', 'start'].includes(verb)) break;
          for (const ref of this.composeImages(job, step, scope)) this.facts.pulls.push({ ...at(command.index), kind: 'compose', ref, path: command.path });
          break;
        }
        default:
          break;
      }
    }
  }

  /** `docker save IMAGE > FILE` or `docker save IMAGE | gzip > FILE` (or `zstd -o FILE`): the file the archive lands in. */
  private savedTo(command: SimpleCommand, commands: readonly SimpleCommand[], scope: Scope, offsetOf: (index: number) => number): Located | undefined {
    let last = command;
    for (let next = commands.find((c) => c.pipedFrom === last); next !== undefined; next = commands.find((c) => c.pipedFrom === last)) last = next;
    const output = last === command ? undefined : flagValue(last.words.slice(1), ['-o', '--output']);
    const target = last.redirectOut ?? output?.text;
    if (target === undefined) return undefined;
    return { value: target, offset: offsetOf(output?.index ?? last.index), expr: output === undefined ? literal(target) : wordExpr(output), scope };
  }

  /**
   * The env values a compose file can read as images: the step's and the job's
   * that name one (`*IMAGE*`, `*REF*`). The workflow's env is shared by every
   * job, the producer's too: a constant there says nothing about this job.
   */
  private composeImages(job: Job, step: Step, scope: Scope): Located[] {
    const seen = new Set<string>();
    const found: Located[] = [];
    for (const env of [step.env, job.env]) {
      for (const [name, field] of env) {
        if (seen.has(name) || !/image|ref/i.test(name)) continue;
        seen.add(name);
        found.push(fromField(field, env === step.env ? scope : { level: 'job', job }));
      }
    }
    return found;
  }
}

export function collectFacts(flow: Flow): Facts {
  const collector = new Collector(flow);
  for (const job of flow.workflow.jobs) collector.job(job);
  return collector.facts;
}

/** The artifact name an upload or fetch uses; our actions default it. */
export function artifactName(site: ArtifactUpload | ArtifactDownload | ImageLoad): string | undefined {
  const ours = 'kind' in site && (site.kind === 'bundle' || site.kind === 'action');
  return site.name?.value ?? (ours ? ACTION_DEFAULT_ARTIFACT_NAME : undefined);
}
