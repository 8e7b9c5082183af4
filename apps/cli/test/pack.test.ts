import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs helper without type declarations
import { publicWorkspaces } from '../../../.ci/workspaces.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// Every published (non-private) workspace, e.g. 'packages/tensor', 'apps/cli'.
const PACKAGES: string[] = (publicWorkspaces() as { dir: string }[]).map((w) => relative(root, w.dir));

/** Every file path an `exports`/`bin`/`main`/`types` entry points at. */
function targets(pkg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(pkg.exports);
  walk(pkg.bin);
  walk(pkg.main);
  walk(pkg.types);
  return out;
}

describe('npm pack produces clean tarballs', () => {
  for (const dir of PACKAGES) {
    it(dir, () => {
      const cwd = join(root, dir);
      const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
      const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd, encoding: 'utf8' });
      const files: string[] = JSON.parse(json)[0].files.map((f: { path: string }) => f.path);
      expect(files).toContain('package.json');
      expect(files).toContain('README.md');
      expect(files).toContain('LICENSE');
      for (const t of targets(pkg)) expect(files, `${pkg.name}: ${t} is exported but not packed`).toContain(t);
      const stray = files.filter((f) => f.startsWith('src/') || /\.test\.|tsbuildinfo|(^|\/)fixtures\//.test(f));
      expect(stray, `${pkg.name} packs files it should not`).toEqual([]);
      expect(pkg.license).toBe('MIT');
      if (dir.startsWith('packages/'))
        expect(Object.keys(pkg.dependencies ?? {}).every((d) => d.startsWith('@stade/'))).toBe(true);
    });
  }
});
