import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commands } from '../../../../src/cli/commands/index.ts';
import { main } from '../../../../src/cli/main.ts';
import { VERSION } from '../../../../src/version.ts';
import { Capture, tempDirs } from '../support.ts';

const temp = tempDirs('cli');
afterEach(temp.cleanup);

let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = await temp.make();
  // Any engine access would fail loudly: the socket does not exist.
  env = { DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}`, HANDOVER_STORE: join(dir, 'default-store') };
});

async function handover(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const status = await main(argv, { stdout, stderr, env, cwd: dir, signal: new AbortController().signal });
  return { status, stdout: stdout.text, stderr: stderr.text };
}

interface JsonError {
  ok: boolean;
  error: { code: string; exitStatus: number; message: string; hint?: string };
}

describe('help and version', () => {
  it('--help lists every command and exits 0; no arguments exits 2 with the same help', async () => {
    const help = await handover('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: handover <command>/);
    for (const command of commands) expect(help.stdout).toContain(`  ${command.name} `);
    expect(help.stdout).toContain('Exit statuses');
    const none = await handover();
    expect(none).toEqual({ status: 2, stdout: help.stdout, stderr: '' });
    expect((await handover('-h')).stdout).toBe(help.stdout);
  });

  it.each(commands.map((c) => [c.name]))('%s --help shows its usage and options', async (name) => {
    const run = await handover(name, '--help');
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(new RegExp(`^Usage: handover ${name}`));
    expect(run.stdout).toContain('Options:');
    expect((await handover('help', name)).stdout).toBe(run.stdout);
    expect((await handover(name, '-h')).stdout).toBe(run.stdout);
  });

  it('--version prints the version', async () => {
    expect(await handover('--version')).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
  });
});

describe('usage errors', () => {
  it('an unknown command exits 2 with the commands and a hint', async () => {
    const run = await handover('exprot', 'charon');
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("handover: error [USAGE]: Unknown command 'exprot'");
    expect(run.stderr).toContain('export, load, inspect, ls');
    expect(run.stderr).toContain("Run 'handover --help'");
  });

  it('an unknown flag exits 2 naming the flag and the command help', async () => {
    const run = await handover('export', 'charon', '--bogus');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/\[USAGE\].*--bogus/);
    expect(run.stderr).toContain("Run 'handover export --help'");
  });

  it('a string option without its value exits 2', async () => {
    const run = await handover('load', '--expect');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('[USAGE]');
  });

  it('--json errors are {ok:false,error:{code,exitStatus,message}} on stdout', async () => {
    const run = await handover('ls', '--bogus', '--json');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('');
    const body = JSON.parse(run.stdout) as JsonError;
    expect(body.ok).toBe(false);
    expect(body.error).toMatchObject({ code: 'USAGE', exitStatus: 2 });
    expect(body.error.message).toContain('--bogus');
    expect(body.error.hint).toContain('handover ls --help');
  });

  it.each([
    [['check', 'missing.yml', '--format', 'json']],
    [['check', 'missing.yml', '-f', 'json']],
    [['check', 'missing.yml', '--format=json']],
    [['check', '-fjson', 'missing.yml']],
  ])('the output mode comes from the parsed arguments: %j reports its error as JSON', async (argv) => {
    const run = await handover(...argv);
    expect(run.stderr).toBe('');
    const body = JSON.parse(run.stdout) as JsonError;
    expect(body.ok).toBe(false);
    expect(body.error.exitStatus).toBe(run.status);
    expect(run.status).not.toBe(1); // 1 is check's verdict
  });

  it('a text that merely contains --json (a value, after --) does not switch the output mode', async () => {
    const run = await handover('export', '--tag', 'Bad Ref', '--name', 'x', '--', '--json');
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^handover: error \[/);
  });

  it('an internal error (a bug) exits 70, a status no command uses for a verdict', async () => {
    const command = commands.find((c) => c.name === 'ls')!;
    const original = command.run.bind(command);
    command.run = () => Promise.reject(new TypeError('x is not a function'));
    try {
      const text = await handover('ls');
      expect(text.status).toBe(70);
      expect(text.stderr).toContain('internal error: x is not a function');
      const json = await handover('ls', '--json');
      expect(json.status).toBe(70);
      expect((JSON.parse(json.stdout) as JsonError).error).toMatchObject({ code: 'INTERNAL', exitStatus: 70 });
    } finally {
      command.run = original;
    }
  });

  it("export '' is REF_EMPTY (exit 2) before touching any engine", async () => {
    const run = await handover('export', '', '--store', 'store');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('[REF_EMPTY]');
    expect(run.stderr).toContain('CI output');
    expect(run.stderr).not.toContain('ENGINE');
    const json = JSON.parse((await handover('export', '   ', '--json')).stdout) as JsonError;
    expect(json.error).toMatchObject({ code: 'REF_EMPTY', exitStatus: 2 });
  });

  it("export --tag '' and --tag 'Bad Ref' exit 2 before any work", async () => {
    expect((await handover('export', 'charon-build:1', '--tag', '')).stderr).toContain('[REF_EMPTY]');
    const bad = await handover('export', 'charon-build:1', '--tag', 'Bad Ref');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('[REF_INVALID]');
    expect(bad.stderr).toContain("'Bad Ref'");
    expect((await handover('export', 'Charon:1')).stderr).toContain('[REF_INVALID]');
  });

  it('export without sources, with sources and --archive, or a bad compression exits 2', async () => {
    expect((await handover('export')).status).toBe(2);
    expect((await handover('export', 'a:1', '--archive', 'x.tar')).stderr).toContain('found both');
    expect((await handover('export', 'a:1', '--compression', 'lz4')).stderr).toContain('--compression');
    expect((await handover('export', 'a:1', 'b:1', '--tag', 'c:1')).stderr).toContain('--tag names one image');
    expect((await handover('export', 'a:1', '--name', '../x')).stderr).toContain('[NAME_INVALID]');
  });

  it('export of an engine that does not answer is ENGINE_UNREACHABLE (exit 4) naming the socket', async () => {
    const run = await handover('export', 'charon:1', '--store', 'store');
    expect(run.status).toBe(4);
    expect(run.stderr).toContain('[ENGINE_UNREACHABLE]');
    expect(run.stderr).toContain(join(dir, 'no-engine.sock'));
  });

  it('export --archive of a missing file is exit 3', async () => {
    const run = await handover('export', '--archive', 'missing.tar', '--store', 'store');
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('[FILE_NOT_FOUND]');
  });

  it('load --expect nothing is DIGEST_INVALID (exit 2)', async () => {
    await mkdir(join(dir, 'store'));
    const run = await handover('load', '--expect', 'nothing', '--store', 'store');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('[DIGEST_INVALID]');
    expect(run.stderr).toContain("'nothing'");
  });

  it('load with a HANDOVER_LOAD_STEP_BYTES that is not a positive whole number exits 2 before touching the engine', async () => {
    for (const value of ['lots', '0', '-5', '1.5']) {
      env['HANDOVER_LOAD_STEP_BYTES'] = value;
      const result = await handover('load', '--json');
      expect(result.status, value).toBe(2);
      const parsed = JSON.parse(result.stdout) as JsonError;
      expect(parsed.error.code).toBe('USAGE');
      expect(parsed.error.message).toContain(`found '${value}'`);
    }
  });

  it('export with a HANDOVER_HEAD_START_BYTES that is neither a positive whole number nor off exits 2 before touching the engine', async () => {
    for (const value of ['lots', '0', '-5', '1.5', 'OFF']) {
      env['HANDOVER_HEAD_START_BYTES'] = value;
      const result = await handover('export', 'app:1', '--json');
      expect(result.status, value).toBe(2);
      const parsed = JSON.parse(result.stdout) as JsonError;
      expect(parsed.error.code).toBe('USAGE');
      expect(parsed.error.message).toContain(`found '${value}'`);
    }
  });

  it('load and ls refuse positional arguments', async () => {
    expect((await handover('load', 'docker-image')).status).toBe(2);
    expect((await handover('ls', 'x')).status).toBe(2);
    expect((await handover('inspect', 'x')).status).toBe(2);
  });
});

describe('stores that do not exist', () => {
  it('ls and inspect on a missing store exit 3 (STORE_NOT_FOUND)', async () => {
    for (const argv of [['ls'], ['inspect'], ['ls', '--store', 'nowhere'], ['inspect', '--store', 'nowhere', '--name', 'x']]) {
      const run = await handover(...argv);
      expect(run.status, argv.join(' ')).toBe(3);
      expect(run.stderr).toContain('[STORE_NOT_FOUND]');
    }
    const json = JSON.parse((await handover('ls', '--store', 'nowhere', '--json')).stdout) as JsonError;
    expect(json).toMatchObject({ ok: false, error: { code: 'STORE_NOT_FOUND', exitStatus: 3 } });
    expect(json.error.message).toContain(join(dir, 'nowhere'));
  });

  it('a store path that is a file exits 3 with a clear message', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const run = await handover('ls', '--store', 'file');
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('is a file, not a directory');
  });

  it('inspect of a missing name in an existing store exits 3 (BUNDLE_NOT_FOUND)', async () => {
    await mkdir(join(dir, 'store', 'names'), { recursive: true });
    const run = await handover('inspect', '--store', 'store', '--name', 'absent');
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('[BUNDLE_NOT_FOUND]');
  });

  it('ls of an empty store says so; --json lists nothing', async () => {
    await mkdir(join(dir, 'store'));
    expect(await handover('ls', '--store', 'store')).toEqual({ status: 0, stdout: `No bundles in ${join(dir, 'store')}.\n`, stderr: '' });
    expect(JSON.parse((await handover('ls', '--store', 'store', '--json')).stdout)).toEqual({ ok: true, store: join(dir, 'store'), bundles: [] });
  });
});
