import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs helper without type declarations
import { publicWorkspaces, workspaces } from '../../../.ci/workspaces.mjs';
import { repo } from './runtimes.js';

// Releases: `changeset version` bumps every published package to one version (a fixed group), and each of
// them passes `npm publish --dry-run` (packs, validates the manifest; nothing is uploaded).
type Ws = { dir: string; pkg: { name: string; version: string; private?: boolean } };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('release flow', () => {
  it('changeset version moves every published package to the same new version', () => {
    // A copy of the manifests and pending changesets (no git, no sources) is all `changeset version` reads.
    const copy = mkdtempSync(join(tmpdir(), 'stade-release-'));
    tmp.push(copy);
    cpSync(join(repo, '.changeset'), join(copy, '.changeset'), { recursive: true });
    writeFileSync(join(copy, '.changeset', 'zz-release-test.md'), '---\n"@stade/tensor": minor\n---\n\nrelease test\n');
    cpSync(join(repo, 'package.json'), join(copy, 'package.json'));
    for (const { dir } of workspaces() as Ws[]) {
      mkdirSync(join(copy, relative(repo, dir)), { recursive: true });
      cpSync(join(dir, 'package.json'), join(copy, relative(repo, dir), 'package.json'));
    }
    const bin = join(repo, 'node_modules/@changesets/cli/bin.js');
    execFileSync(process.execPath, [bin, 'version'], { cwd: copy, stdio: 'pipe', env: { ...process.env, CI: 'true' } });
    const published = publicWorkspaces() as Ws[];
    const after = (w: Ws) =>
      JSON.parse(readFileSync(join(copy, relative(repo, w.dir), 'package.json'), 'utf8')) as Ws['pkg'] & {
        dependencies?: Record<string, string>;
      };
    const versions = new Set(published.map((w) => after(w).version));
    expect(versions.size, [...versions].join(', ')).toBe(1);
    const [v] = [...versions];
    expect(v).not.toBe(published[0]!.pkg.version);
    for (const w of published) {
      for (const [dep, range] of Object.entries(after(w).dependencies ?? {})) {
        if (dep.startsWith('@stade/')) expect(range, `${w.pkg.name} -> ${dep}`).toBe(v);
      }
    }
    for (const w of (workspaces() as Ws[]).filter((x) => x.pkg.private)) expect(after(w).version).toBe(w.pkg.version);
  });

  it.each((publicWorkspaces() as Ws[]).map((w) => [w.pkg.name, w.dir]))('npm publish --dry-run %s', (_name, dir) => {
    const out = execFileSync(npm, ['publish', '--dry-run', '--ignore-scripts', '--json'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Ws['pkg'];
    // npm 11 keys the report by package name; npm 10 printed the bare object.
    const json = JSON.parse(out.slice(out.indexOf('{'))) as Record<string, unknown>;
    const report = (json[pkg.name] ?? json) as { id?: string; files?: unknown[] };
    expect(report.id).toBe(`${pkg.name}@${pkg.version}`);
    expect(report.files?.length).toBeGreaterThan(2);
  });
});
