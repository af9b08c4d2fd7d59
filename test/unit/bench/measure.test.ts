import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuSeconds, run } from '../../../bench/measure.ts';

describe('cpuSeconds', () => {
  it("counts a finished command's CPU among this process's children", async () => {
    const before = await cpuSeconds('self', 'children');
    // Half a second of CPU (not of wall time: the machine may be busy) in a child this process waits for.
    await run(process.execPath, ['-e', 'const start = process.cpuUsage(); while (process.cpuUsage(start).user < 500000);']);
    const after = await cpuSeconds('self', 'children');
    expect(before).toBeDefined();
    expect((after ?? 0) - (before ?? 0)).toBeGreaterThanOrEqual(0.3);
  });

  it('reads a process whose name holds spaces and parentheses, and its own time grows', async () => {
    // /proc/PID/stat names a process after its executable's file name: run bash through such a link.
    const dir = await mkdtemp(join(tmpdir(), 'bench-cpu-'));
    const odd = join(dir, 'a) b (c');
    await symlink('/bin/bash', odd);
    const child = spawn(odd, ['-c', 'end=$((SECONDS+2)); while [ $SECONDS -lt $end ]; do :; done'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await readFile(`/proc/${child.pid}/stat`, 'utf8')).toContain('(a) b (c)');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const early = await cpuSeconds(child.pid ?? -1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const later = await cpuSeconds(child.pid ?? -1);
      expect(early).toBeDefined();
      expect(later ?? 0).toBeGreaterThan(early ?? 0);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'close');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is undefined for a process that is not there', async () => {
    expect(await cpuSeconds(2 ** 22 + 12345)).toBeUndefined();
  });
});
