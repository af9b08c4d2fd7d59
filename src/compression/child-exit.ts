import type { ChildProcess } from 'node:child_process';

/**
 * Resolves when a child process exits 0; otherwise rejects with what it said
 * on stderr (its last 2000 characters). A full disk is reported with the
 * code ENOSPC, so the store can say so.
 */
export function childExit(child: ChildProcess & { stderr: NodeJS.ReadableStream }, name: string): Promise<void> {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const how = code === null ? `signal ${signal ?? '?'}` : `status ${code}`;
      const error: NodeJS.ErrnoException = new Error(`${name} exited with ${how}${stderr === '' ? '' : `: ${stderr.trim()}`}`);
      if (/No space left on device/i.test(stderr)) error.code = 'ENOSPC';
      reject(error);
    });
  });
  exited.catch(() => undefined); // callers await it when they are ready
  return exited;
}
