import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError, describeCause } from '../errors.ts';

export const DEFAULT_WORKFLOWS_DIR = '.github/workflows';

export interface WorkflowText {
  /** As shown in findings: relative to the working directory when inside it. */
  path: string;
  text: string;
}

function displayPath(cwd: string, absolute: string): string {
  const inside = relative(cwd, absolute);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside.split('\\').join('/') : absolute;
}

/** Reads the workflow files named: files as given, directories for their *.yml and *.yaml. */
export async function readWorkflowFiles(cwd: string, paths: readonly string[]): Promise<WorkflowText[]> {
  const files: string[] = [];
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    const info = await stat(absolute).catch((error: unknown) => {
      throw new UsageError(`Cannot read '${path}': ${describeCause(error)}.`, {
        hint: path === DEFAULT_WORKFLOWS_DIR ? 'Run handover check in a repository root, or name the workflow files to check.' : 'Name workflow files or directories that exist.',
        cause: error,
      });
    });
    if (info.isDirectory()) {
      const names = (await readdir(absolute)).filter((name) => /\.ya?ml$/.test(name)).sort();
      files.push(...names.map((name) => join(absolute, name)));
    } else files.push(absolute);
  }
  return await Promise.all(files.map(async (file) => ({ path: displayPath(cwd, file), text: await readFile(file, 'utf8') })));
}
