/**
 * A small reading of the shell scripts in `run:` steps: simple commands with
 * their words and where they start, and whether they run only under a
 * condition. Not a shell parser; enough for docker commands and
 * `$GITHUB_OUTPUT` writes, which are written in a few common shapes.
 */

export interface Word {
  /** The word with quotes removed. */
  text: string;
  /** Index in the script of the word's first character. */
  index: number;
}

export interface SimpleCommand {
  words: Word[];
  /** The command's raw text. */
  raw: string;
  index: number;
  /** Inside if/case/loop, or joined by && or ||: it may not run. */
  conditional: boolean;
  /** The command whose output is piped into this one. */
  pipedFrom: SimpleCommand | undefined;
  /** Target of `>`/`>>` and source of `<`, quotes removed. */
  redirectOut: string | undefined;
  redirectIn: string | undefined;
}

const OPENERS = new Set(['if', 'while', 'until', 'for', 'case', 'select']);
const CLOSERS = new Set(['fi', 'done', 'esac']);
const LEADERS = new Set(['then', 'else', 'elif', 'do', '{', '(', '!', 'time', 'sudo', 'exec']);

interface Segment {
  start: number;
  end: number;
  /** The operator that ended it: `;`, `&&`, `||`, `|`, newline or end. */
  separator: string;
}

/** Splits a script into segments at unquoted separators, keeping `${{ }}` whole. */
function segments(script: string): Segment[] {
  const result: Segment[] = [];
  let start = 0;
  let quote: string | undefined;
  let i = 0;
  const cut = (end: number, separator: string, next: number): void => {
    result.push({ start, end, separator });
    start = next;
    i = next;
  };
  while (i < script.length) {
    const c = script[i];
    if (script.startsWith('${{', i)) {
      const close = script.indexOf('}}', i);
      i = close === -1 ? script.length : close + 2;
      continue;
    }
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i += 2;
      else {
        if (c === quote) quote = undefined;
        i++;
      }
      continue;
    }
    if (c === '\\' && script[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      i++;
    } else if (c === '#' && (i === 0 || /\s/.test(script[i - 1] ?? ' '))) {
      const newline = script.indexOf('\n', i);
      cut(i, '\n', newline === -1 ? script.length : newline + 1);
    } else if (c === '\n' || c === ';') cut(i, c, i + 1);
    else if (script.startsWith('&&', i) || script.startsWith('||', i)) cut(i, script.slice(i, i + 2), i + 2);
    else if (c === '|') cut(i, '|', i + 1);
    else i++;
  }
  if (start < script.length) result.push({ start, end: script.length, separator: '' });
  return result;
}

function words(script: string, start: number, end: number): Word[] {
  const result: Word[] = [];
  let i = start;
  while (i < end) {
    while (i < end && /\s/.test(script[i] ?? '')) i++;
    if (i >= end) break;
    if (script[i] === '\\' && script[i + 1] === '\n') {
      i += 2;
      continue;
    }
    const wordStart = i;
    let text = '';
    while (i < end && !/\s/.test(script[i] ?? '')) {
      const c = script[i] ?? '';
      if (script.startsWith('${{', i)) {
        const close = script.indexOf('}}', i);
        const stop = close === -1 ? end : Math.min(end, close + 2);
        text += script.slice(i, stop);
        i = stop;
      } else if (c === '"' || c === "'") {
        const close = script.indexOf(c, i + 1);
        const stop = close === -1 || close >= end ? end : close;
        text += script.slice(i + 1, stop);
        i = stop + 1;
      } else {
        text += c;
        i++;
      }
    }
    result.push({ text, index: wordStart });
  }
  return result;
}

/** The simple commands of a script, in order. */
export function parseScript(script: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let depth = 0;
  let previous: Segment | undefined;
  let previousCommand: SimpleCommand | undefined;
  for (const segment of segments(script)) {
    let list = words(script, segment.start, segment.end);
    const joined = previous?.separator === '&&' || previous?.separator === '||' || segment.separator === '&&' || segment.separator === '||';
    const pipedFrom = previous?.separator === '|' ? previousCommand : undefined;
    previous = segment;
    let opens = false;
    while (list[0] !== undefined && (LEADERS.has(list[0].text) || OPENERS.has(list[0].text) || CLOSERS.has(list[0].text))) {
      const head = list[0].text;
      if (OPENERS.has(head)) opens = true;
      if (CLOSERS.has(head)) depth = Math.max(0, depth - 1);
      list = list.slice(1);
    }
    const conditional = depth > 0 || opens || joined;
    if (opens) depth++;
    const { plain, redirectOut, redirectIn } = redirects(list);
    if (plain.length === 0) {
      previousCommand = undefined;
      continue;
    }
    const command: SimpleCommand = {
      words: plain,
      raw: script.slice(segment.start, segment.end),
      index: plain[0]?.index ?? segment.start,
      conditional,
      pipedFrom,
      redirectOut,
      redirectIn,
    };
    commands.push(command);
    previousCommand = command;
  }
  return commands;
}

function redirects(list: Word[]): { plain: Word[]; redirectOut: string | undefined; redirectIn: string | undefined } {
  const plain: Word[] = [];
  let redirectOut: string | undefined;
  let redirectIn: string | undefined;
  for (let i = 0; i < list.length; i++) {
    const word = list[i];
    if (word === undefined) continue;
    const match = /^(\d?)(>>|>|<)(.*)$/.exec(word.text);
    if (match === null) {
      plain.push(word);
      continue;
    }
    const target = match[3] !== '' ? match[3] : list[++i]?.text;
    if (match[2] === '<') redirectIn = target;
    else if (match[1] !== '2') redirectOut = target;
  }
  return { plain, redirectOut, redirectIn };
}

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
      if (word.text.startsWith(`${name}=`)) return { text: word.text.slice(name.length + 1), index: word.index + name.length + 1 };
    }
  }
  return undefined;
}

/** A `name=value` write to `$GITHUB_OUTPUT` (or the old `::set-output`). */
export interface OutputWrite {
  name: string;
  value: string;
  index: number;
  conditional: boolean;
}

export function outputWrites(commands: readonly SimpleCommand[]): OutputWrite[] {
  const writes: OutputWrite[] = [];
  for (const command of commands) {
    const head = command.words[0]?.text;
    if (head !== 'echo' && head !== 'printf') continue;
    const args = command.words.slice(1).filter((w) => !/^-[neE]+$/.test(w.text));
    const text = args.map((w) => w.text).join(' ');
    const setOutput = /^::set-output name=([^:]+)::(.*)$/.exec(text);
    if (setOutput !== null) {
      writes.push({ name: setOutput[1] ?? '', value: setOutput[2] ?? '', index: command.index, conditional: command.conditional });
      continue;
    }
    if (command.redirectOut === undefined || !/GITHUB_OUTPUT/.test(command.redirectOut)) continue;
    const assignment = /^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$/s.exec(text);
    if (assignment === null) continue;
    writes.push({
      name: assignment[1] ?? '',
      value: (assignment[2] ?? '').replace(/\\n$/, ''),
      index: command.index,
      conditional: command.conditional,
    });
  }
  return writes;
}
