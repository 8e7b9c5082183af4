import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs helper without type declarations
import { publicWorkspaces } from '../../../.ci/workspaces.mjs';
import { RUNTIMES, repo, runOn, versionOf } from './runtimes.js';

// The published packages as a user gets them: every public workspace packed with `npm pack`, installed from
// the tarballs alone into a fresh folder (and globally into a temporary prefix), then imported, type-checked
// and run on every runtime.
type Ws = { dir: string; pkg: { name: string; version: string; bin?: Record<string, string> } };
const published = publicWorkspaces() as Ws[];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
let root: string;
let app: string;
let tarballs: string[];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'stade-pack-'));
  const dest = join(root, 'tarballs');
  mkdirSync(dest);
  for (const { dir } of published) {
    execFileSync(npm, ['pack', '--pack-destination', dest, '--ignore-scripts', '--silent'], { cwd: dir });
  }
  tarballs = readdirSync(dest).map((f) => join(dest, f));
  app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync(npm, ['install', ...quiet, ...tarballs], { cwd: app, stdio: 'pipe' });
}, 600_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('npm pack tarballs installed into a fresh folder', () => {
  it('install every public workspace and nothing from the dev tree', () => {
    expect(tarballs).toHaveLength(published.length);
    for (const { pkg } of published) {
      const dir = join(app, 'node_modules', pkg.name);
      const installed = files(dir).map((f) => relative(dir, f));
      const stray = installed.filter(
        (f) => /^(src|test)\//.test(f) || /\.test\.|tsbuildinfo|(^|\/)fixtures\//.test(f) || /(?<!\.d)\.ts$/.test(f),
      );
      expect(stray, `${pkg.name} ships dev files`).toEqual([]);
      expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type).toBe('module');
    }
  });

  it('resolve their types from the tarballs (TypeScript, nodenext)', () => {
    const libs = published.filter((w) => !w.pkg.bin).map((w) => w.pkg.name);
    const lines = libs.map(
      (n, i) => `import * as m${i} from '${n}';\nexport const k${i}: string[] = Object.keys(m${i});`,
    );
    lines.push(`import { Tensor } from '@stade/tensor';\nexport const t: Tensor = Tensor.from([1, 2], [2]);`);
    writeFileSync(join(app, 'index.ts'), `${lines.join('\n')}\n`);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          typeRoots: [join(repo, 'node_modules/@types')],
        },
        files: ['index.ts'],
      }),
    );
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    const r = (() => {
      try {
        return execFileSync(process.execPath, [tsc, '-p', app], { encoding: 'utf8' });
      } catch (e) {
        return String((e as { stdout?: string }).stdout ?? e);
      }
    })();
    expect(r).toBe('');
  });

  it.each(RUNTIMES)('import and run on $name (ESM, worker pool from the installed package)', (rt) => {
    const r = runOn(rt, join(repo, 'tests/runtimes/probes/consumer.mjs'), [], { cwd: app });
    expect(r.code, `${versionOf(rt)}\n${r.stderr}`).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { loaded: Record<string, number>; y: number[]; commands: boolean };
    for (const w of published.filter((x) => !x.pkg.bin)) expect(out.loaded[w.pkg.name]).toBeGreaterThan(0);
    expect(out.y).toEqual([1, 2, 4, 5]);
    expect(out.commands).toBe(true);
  });

  it('npm install -g of the tarballs gives a working stade', () => {
    const prefix = join(root, 'global');
    execFileSync(npm, ['install', '-g', '--prefix', prefix, ...quiet, ...tarballs], { stdio: 'pipe' });
    const cli = published.find((w) => w.pkg.bin?.stade)!;
    const bin = join(prefix, process.platform === 'win32' ? 'stade.cmd' : 'bin/stade');
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(cli.pkg.version);
    expect(execFileSync(bin, ['inspect', '--help'], { encoding: 'utf8' })).toContain('--model');
  });
});
