import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Static (runtime) import specifiers of a TypeScript module; `import type` / `export type` are erased. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s)?[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)) {
    if (m[2]) continue;
    out.push((m[3] ?? m[4])!);
  }
  return out;
}

/** Every module reachable from `entry` through runtime imports, and the non-relative specifiers found. */
function graph(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (f: string) => {
    if (files.has(f)) return;
    files.add(f);
    for (const spec of runtimeImports(f)) {
      if (spec.startsWith('.')) visit(resolve(dirname(f), spec.replace(/\.js$/, '.ts')));
      else external.add(spec);
    }
  };
  visit(entry);
  return { files, external };
}

describe('browser safety', () => {
  it('the package entry loads no Node built-in statically (the pool reaches Node through platform.ts)', () => {
    const { files, external } = graph(resolve(srcDir, 'index.ts'));
    expect(files.has(resolve(srcDir, 'parallel/pool.ts'))).toBe(true);
    expect(files.has(resolve(srcDir, 'parallel/worker.ts'))).toBe(false);
    expect([...external]).toEqual([]);
  });

  it('the walker does see static Node imports (the worker entry has one)', () => {
    expect(graph(resolve(srcDir, 'parallel/worker.ts')).external).toContain('node:worker_threads');
  });
});
