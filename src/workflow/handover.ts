/**
 * The facts of an image handover in one workflow: where images are built,
 * exported, uploaded, downloaded, loaded, verified, pulled; which jobs consume
 * an image built by another. Rules read these instead of walking YAML.
 */
import {
  ACTION_DEFAULT_ARTIFACT_NAME,
  isBuildPushAction,
  isDownloadArtifact,
  isExportAction,
  isLoadAction,
  isLoginAction,
  isUploadArtifact,
  listItems,
} from './actions.ts';
import { refsInExpressions, type ContextRef } from './expressions.ts';
import type { Field, Job, Step, Workflow } from './model.ts';
import { engineCommand, flagValue, parseScript, positionalArgs, type EngineCommand, type SimpleCommand, type Word } from './shell.ts';

/** A value found in the workflow and the offset in the file where it starts. */
export interface Located {
  value: string;
  offset: number;
}

interface AtStep {
  job: Job;
  step: Step;
  offset: number;
}

export interface ImageBuild extends AtStep {
  /** `outputs: type=docker|oci,dest=FILE`. */
  dest: Located | undefined;
  load: boolean;
  push: Field | undefined;
  cacheTo: Field | undefined;
  cacheFrom: Field | undefined;
  tags: Located[];
}

export interface ImageExport extends AtStep {
  kind: 'build' | 'save' | 'action';
  /** The archive written, for `build` and `save`. */
  file: Located | undefined;
  tags: Located[];
}

export interface ArtifactUpload extends AtStep {
  name: Field | undefined;
  path: Field | undefined;
  retention: Field | undefined;
  /** Our export action: an image artifact by definition. */
  action: boolean;
}

export interface ArtifactDownload extends AtStep {
  name: Field | undefined;
  path: Field | undefined;
}

export interface ImageLoad extends AtStep {
  kind: 'docker' | 'action';
  /** The archive given to `docker load`. */
  input: Located | undefined;
  /** The artifact name our load action fetches. */
  name: Field | undefined;
  /** Our load action verifies what it loads. */
  verifies: boolean;
  /** Our load action's `expect:` (the pinned bundle digest). */
  expect: Field | undefined;
}

export interface ImageVerify extends AtStep {
  tag: Located;
}

export interface RegistryPull extends AtStep {
  ref: Located;
  /** Expression references the pulled reference is made of (directly or through env). */
  refs: ContextRef[];
}

export interface RegistryLogin extends AtStep {
  how: string;
}

/** An image reference handed to a docker command or an action input. */
export interface ImageUse extends AtStep {
  what: string;
  ref: Located;
  refs: ContextRef[];
}

export interface HandoverFacts {
  workflow: Workflow;
  builds: ImageBuild[];
  exports: ImageExport[];
  uploads: ArtifactUpload[];
  downloads: ArtifactDownload[];
  loads: ImageLoad[];
  verifies: ImageVerify[];
  pulls: RegistryPull[];
  logins: RegistryLogin[];
  uses: ImageUse[];
  /** Jobs that build or export an image. */
  imageJobs: Set<string>;
  /** Jobs that take an image another job built: by artifact, our load action, or a registry pull of its output. */
  consumers: Job[];
}

const IMAGE_INPUT = /image|^tags?$|^ref$|^subject/i;
const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.zst|oci)$/;

export function collectFacts(workflow: Workflow): HandoverFacts {
  const facts: HandoverFacts = {
    workflow,
    builds: [],
    exports: [],
    uploads: [],
    downloads: [],
    loads: [],
    verifies: [],
    pulls: [],
    logins: [],
    uses: [],
    imageJobs: new Set(),
    consumers: [],
  };
  for (const job of workflow.jobs) {
    for (const step of job.steps) {
      if (step.uses !== undefined) readActionStep(facts, job, step, step.uses.value);
      if (step.run !== undefined) readRunStep(facts, workflow, job, step, step.run);
    }
  }
  for (const build of facts.builds) facts.imageJobs.add(build.job.id);
  for (const exported of facts.exports) facts.imageJobs.add(exported.job.id);
  facts.consumers = workflow.jobs.filter((job) => !facts.imageJobs.has(job.id) && isConsumer(facts, job));
  return facts;
}

function isConsumer(facts: HandoverFacts, job: Job): boolean {
  if (facts.loads.some((l) => l.job === job)) return true;
  if (facts.downloads.some((d) => d.job === job && isImageDownload(facts, d))) return true;
  return facts.pulls.some((p) => p.job === job && p.refs.some((r) => r.context === 'needs' && facts.imageJobs.has(r.id)));
}

/** A download of an artifact some job uploads as an image (or any download when names are not given). */
export function isImageDownload(facts: HandoverFacts, download: ArtifactDownload): boolean {
  const name = download.name?.value;
  return facts.uploads.some((u) => isImageUpload(facts, u) && (name === undefined || u.name?.value === name));
}

export function isImageUpload(facts: HandoverFacts, upload: ArtifactUpload): boolean {
  if (upload.action) return true;
  const paths = listItems(upload.path?.value ?? '').map((p) => p.text);
  const exported = facts.exports.filter((e) => e.job === upload.job).map((e) => e.file?.value);
  return paths.some((p) => ARCHIVE.test(p) || exported.includes(p));
}

function located(field: Field, index = 0, text = ''): Located {
  return { value: text === '' ? field.value : text, offset: field.offsetOf(index, text) };
}

function listLocated(field: Field | undefined): Located[] {
  if (field === undefined) return [];
  return listItems(field.value).map((item) => ({ value: item.text, offset: field.offsetOf(item.index, item.text) }));
}

function readActionStep(facts: HandoverFacts, job: Job, step: Step, uses: string): void {
  const at = { job, step, offset: step.offset };
  const input = (name: string): Field | undefined => step.with.get(name);
  if (isBuildPushAction(uses)) {
    const outputs = input('outputs');
    const dest = outputs === undefined ? undefined : /type=(?:docker|oci)\b[^\n]*?\bdest=([^,\s]+)/.exec(outputs.value);
    const build: ImageBuild = {
      ...at,
      dest: outputs !== undefined && dest?.[1] !== undefined ? located(outputs, dest.index + dest[0].indexOf(dest[1]), dest[1]) : undefined,
      load: input('load')?.value === 'true',
      push: input('push'),
      cacheTo: input('cache-to'),
      cacheFrom: input('cache-from'),
      tags: listLocated(input('tags')),
    };
    facts.builds.push(build);
    if (build.dest !== undefined) facts.exports.push({ ...at, kind: 'build', file: build.dest, tags: build.tags });
  } else if (isExportAction(uses)) {
    const tags = [...listLocated(input('images')), ...listLocated(input('tag'))];
    const archive = input('archive');
    const file = archive === undefined ? undefined : located(archive);
    facts.exports.push({ ...at, kind: 'action', file, tags });
    facts.uploads.push({ ...at, name: input('name'), path: archive, retention: input('retention-days'), action: true });
  } else if (isLoadAction(uses)) {
    facts.loads.push({ ...at, kind: 'action', input: undefined, name: input('name'), verifies: true, expect: input('expect') });
    for (const tag of listLocated(input('tags'))) facts.verifies.push({ ...at, tag });
  } else if (isUploadArtifact(uses)) {
    facts.uploads.push({ ...at, name: input('name'), path: input('path'), retention: input('retention-days'), action: false });
  } else if (isDownloadArtifact(uses)) {
    facts.downloads.push({ ...at, name: input('name'), path: input('path') });
  } else if (isLoginAction(uses)) {
    facts.logins.push({ ...at, offset: step.uses?.offsetOf(0) ?? step.offset, how: uses.replace(/@.*$/, '') });
  }
  for (const [name, value] of step.with) {
    const refs = refsInExpressions(value.value);
    if (!IMAGE_INPUT.test(name) || refs.length === 0) continue;
    facts.uses.push({ ...at, offset: value.offsetOf(0), what: `input '${name}' of ${uses.replace(/@.*$/, '')}`, ref: located(value), refs });
  }
}

/** Expression references a shell word stands for: its own `${{ }}` or those of the env variables it expands. */
export function wordRefs(workflow: Workflow, job: Job, step: Step, word: string): ContextRef[] {
  const refs = refsInExpressions(word);
  for (const match of word.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)) {
    const name = match[1] ?? '';
    const definition = step.env.get(name) ?? job.env.get(name) ?? workflow.env.get(name);
    if (definition !== undefined) refs.push(...refsInExpressions(definition.value));
  }
  return refs;
}

function readRunStep(facts: HandoverFacts, workflow: Workflow, job: Job, step: Step, run: Field): void {
  const commands = parseScript(run.value);
  const at = (word: Word | SimpleCommand): { job: Job; step: Step; offset: number } => {
    const index = 'words' in word ? word.index : word.index;
    return { job, step, offset: run.offsetOf(index, run.value.slice(index, index + 12)) };
  };
  const loc = (word: Word): Located => ({ value: word.text, offset: at(word).offset });
  const use = (engine: EngineCommand, word: Word | undefined): void => {
    if (word === undefined) return;
    const refs = wordRefs(workflow, job, step, word.text);
    if (refs.length > 0) facts.uses.push({ ...at(word), what: `${engine.engine} ${engine.verb}`, ref: loc(word), refs });
  };
  for (const command of commands) {
    const engine = engineCommand(command);
    if (engine === undefined) continue;
    const positional = positionalArgs(engine.args);
    switch (engine.verb) {
      case 'login':
        facts.logins.push({ ...at(command), how: `${engine.engine} login` });
        break;
      case 'pull': {
        const ref = positional[0];
        if (ref !== undefined) {
          facts.pulls.push({ ...at(command), ref: loc(ref), refs: wordRefs(workflow, job, step, ref.text) });
          use(engine, ref);
        }
        break;
      }
      case 'load': {
        const file = flagValue(engine.args, ['--input', '-i']);
        const piped = command.pipedFrom === undefined ? undefined : positionalArgs(command.pipedFrom.words.slice(1), new Set()).at(-1);
        const input = file !== undefined ? loc(file) : command.redirectIn !== undefined ? { value: command.redirectIn, offset: at(command).offset } : piped !== undefined ? loc(piped) : undefined;
        facts.loads.push({ ...at(command), kind: 'docker', input, name: undefined, verifies: false, expect: undefined });
        break;
      }
      case 'inspect':
        for (const tag of positionalArgs(engine.args, new Set(['-f', '--format', '--type']))) {
          facts.verifies.push({ ...at(tag), tag: loc(tag) });
        }
        break;
      case 'save': {
        const output = flagValue(engine.args, ['--output', '-o']);
        const file = output !== undefined ? loc(output) : command.redirectOut !== undefined ? { value: command.redirectOut, offset: at(command).offset } : undefined;
        const tags = positionalArgs(engine.args, new Set(['-o', '--output', '--platform'])).map(loc);
        facts.exports.push({ ...at(command), kind: 'save', file, tags });
        for (const tag of positionalArgs(engine.args, new Set(['-o', '--output', '--platform']))) use(engine, tag);
        break;
      }
      case 'build':
        facts.builds.push({ ...at(command), dest: undefined, load: true, push: undefined, cacheTo: undefined, cacheFrom: undefined, tags: [] });
        break;
      case 'tag':
      case 'push':
        use(engine, positional[0]);
        break;
      case 'run':
      case 'create':
        use(engine, positional[0]);
        break;
      default:
        break;
    }
  }
}

/** The docker commands of a run step, parsed once per call site; small scripts make caching unnecessary. */
export function engineCommands(step: Step): EngineCommand[] {
  if (step.run === undefined) return [];
  return parseScript(step.run.value)
    .map(engineCommand)
    .filter((c): c is EngineCommand => c !== undefined);
}

/** The run steps' tags that a consumer runs as containers: `docker run [flags] IMAGE`. */
export function runImages(step: Step): Located[] {
  const run = step.run;
  if (run === undefined) return [];
  return engineCommands(step)
    .filter((c) => c.verb === 'run' || c.verb === 'create')
    .map((c) => positionalArgs(c.args)[0])
    .filter((w): w is Word => w !== undefined)
    .map((w) => ({ value: w.text, offset: run.offsetOf(w.index, run.value.slice(w.index, w.index + 12)) }));
}

/** The artifact name an upload or fetch uses; our actions default it. */
export function artifactName(site: ArtifactUpload | ArtifactDownload | ImageLoad): string | undefined {
  const ours = 'action' in site ? site.action : 'kind' in site && site.kind === 'action';
  return site.name?.value ?? (ours ? ACTION_DEFAULT_ARTIFACT_NAME : undefined);
}

/** The uploads a consumer's download or load action fetches: matched by artifact name, or every image upload when unnamed. */
export function uploadsFetchedBy(facts: HandoverFacts, fetch: ArtifactDownload | ImageLoad): ArtifactUpload[] {
  const name = artifactName(fetch);
  const candidates = facts.uploads.filter((u) => u.job !== fetch.job && isImageUpload(facts, u));
  if (name === undefined) return candidates;
  return candidates.filter((u) => artifactName(u) === name);
}

/** The jobs whose exported image a consumer takes. */
export function producersOf(facts: HandoverFacts, job: Job): Job[] {
  const producers = new Set<Job>();
  for (const fetch of [...facts.downloads.filter((d) => d.job === job), ...facts.loads.filter((l) => l.job === job && l.kind === 'action')]) {
    for (const upload of uploadsFetchedBy(facts, fetch)) producers.add(upload.job);
  }
  if (producers.size === 0) {
    for (const exported of facts.exports) if (job.needs.includes(exported.job.id)) producers.add(exported.job);
  }
  return [...producers];
}
