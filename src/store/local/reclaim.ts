import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { temporaryWriter } from '../layout/blob-directory.ts';

/**
 * A temporary untouched this long is abandoned whoever wrote it: another
 * host's (whose pids mean nothing here), or one whose pid was reused.
 */
export const ABANDONED_AGE_MS = 24 * 60 * 60 * 1000;

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function abandoned(path: string, name: string, now: number): Promise<boolean> {
  const writer = temporaryWriter(name);
  if (writer?.thisHost === true && !isAlive(writer.pid)) return true;
  const { mtimeMs } = await lstat(path);
  return now - mtimeMs > ABANDONED_AGE_MS;
}

/**
 * Removes what writers that died (SIGKILL, power loss) left behind: partial
 * blobs and bundle directories in tmp/, and name pointers (names/.<name>-…)
 * never renamed into place. None of them is reachable from a name, so this
 * only reclaims space. Best effort: a failure here never fails the caller.
 */
export async function reclaimAbandoned(tmpDir: string, namesDir: string, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async (dir: string, pick: (name: string) => boolean): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return;
    }
    for (const name of entries.filter(pick)) {
      const path = join(dir, name);
      try {
        if (await abandoned(path, name, now)) {
          await rm(path, { recursive: true, force: true });
          removed.push(path);
        }
      } catch {
        // Gone already (another writer reclaimed it) or not ours to remove.
      }
    }
  };
  await sweep(tmpDir, () => true);
  await sweep(namesDir, (name) => name.startsWith('.'));
  return removed;
}
