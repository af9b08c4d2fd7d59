/** Container engine commands in a script: `docker image pull x` and `docker pull x` alike, their flags and arguments. */
import type { SimpleCommand, Word } from './script.ts';

const ENGINES = new Set(['docker', 'podman', 'nerdctl', 'buildah']);
const OBJECT_WORDS = new Set(['image', 'container', 'buildx']);

/** `docker image pull x` and `docker pull x` alike: the subcommand and its arguments. */
export interface EngineCommand {
  engine: string;
  verb: string;
  args: Word[];
  command: SimpleCommand;
}

export function engineCommand(command: SimpleCommand): EngineCommand | undefined {
  const [first, ...rest] = command.words;
  if (first?.text.replace(/^.*\//, '') === 'docker-compose') return { engine: 'docker', verb: 'compose', args: rest, command };
  if (first === undefined || !ENGINES.has(first.text.replace(/^.*\//, ''))) return undefined;
  let args = rest;
  while (args[0] !== undefined && args[0].text.startsWith('-')) args = args.slice(1);
  if (args[0] !== undefined && OBJECT_WORDS.has(args[0].text) && args[1] !== undefined) args = args.slice(1);
  const verb = args[0];
  if (verb === undefined) return undefined;
  return { engine: first.text.replace(/^.*\//, ''), verb: verb.text, args: args.slice(1), command };
}

/** Flags of `docker run`/`create` that take a value, so the image is the first other word. */
const RUN_VALUE_FLAGS = new Set([
  '-a', '--attach', '--add-host', '--cap-add', '--cap-drop', '--cgroupns', '--cidfile', '--cpus', '--cpu-shares', '-c',
  '--device', '--dns', '-e', '--env', '--env-file', '--entrypoint', '--expose', '--gpus', '-h', '--hostname',
  '--health-cmd', '--health-interval', '--health-retries', '--health-timeout', '--ip', '-l', '--label', '--label-file',
  '--link', '--log-driver', '--log-opt', '-m', '--memory', '--mount', '--name', '--network', '--net', '--network-alias',
  '-p', '--publish', '--platform', '--pull', '--restart', '--shm-size', '--stop-signal', '--stop-timeout',
  '--tmpfs', '-u', '--user', '--ulimit', '-v', '--volume', '--volumes-from', '-w', '--workdir', '--security-opt',
]);

/** Positional arguments, skipping flags (and the values of flags known to take one). */
export function positionalArgs(args: Word[], valueFlags: ReadonlySet<string> = RUN_VALUE_FLAGS): Word[] {
  const result: Word[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (word === undefined) continue;
    if (word.text.startsWith('-')) {
      if (!word.text.includes('=') && valueFlags.has(word.text)) i++;
      continue;
    }
    result.push(word);
  }
  return result;
}

/** The value of `--flag VALUE`, `--flag=VALUE` or `-f VALUE`. */
export function flagValue(args: Word[], names: readonly string[]): Word | undefined {
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (word === undefined) continue;
    for (const name of names) {
      if (word.text === name) return args[i + 1];
      if (word.text.startsWith(`${name}=`)) {
        return { text: word.text.slice(name.length + 1), raw: word.raw.slice(word.raw.indexOf('=') + 1), index: word.index + word.raw.indexOf('=') + 1 };
      }
    }
  }
  return undefined;
}

