// The repository's npm workspaces, read from the root package.json's `workspaces` globs (`dir/*` form), so CI,
// the pack checks and the runtime tests pick up new packages without a list to maintain.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Every workspace: `{ dir, pkg }` with `dir` absolute and `pkg` its parsed package.json, sorted by name. */
export function workspaces() {
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const out = [];
  for (const glob of root.workspaces ?? []) {
    const dirs = glob.endsWith('/*')
      ? readdirSync(join(repoRoot, glob.slice(0, -2)), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => join(repoRoot, glob.slice(0, -2), d.name))
      : [join(repoRoot, glob)];
    for (const dir of dirs) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) out.push({ dir, pkg: JSON.parse(readFileSync(file, 'utf8')) });
    }
  }
  return out.sort((a, b) => a.pkg.name.localeCompare(b.pkg.name));
}

/** The workspaces that are published (not `private`). */
export const publicWorkspaces = () => workspaces().filter((w) => !w.pkg.private);

/** The names of the workspaces with a `test` script (each leaves one vitest report under CI). */
export const testedWorkspaces = () =>
  workspaces()
    .filter((w) => w.pkg.scripts?.test)
    .map((w) => w.pkg.name);

/** The file name of a workspace's vitest JSON report in .ci/vitest/. */
export const reportName = (name) => `${name.replace(/^@/, '').replace(/\//g, '+')}.json`;
