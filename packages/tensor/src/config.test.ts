import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import {
  availableCores,
  getBackend,
  getThreads,
  resolveBackend,
  setBackend,
  setThreads,
  simdProbeBytes,
  wasmSimdAvailable,
} from './config.js';

const config = new URL('../dist/config.js', import.meta.url).href;

/** Runs a snippet against the built config module in a fresh Node with the given environment. */
function run(code: string, env: Record<string, string>): { out: string; err: string; status: number | null } {
  const src = `import * as c from ${JSON.stringify(config)};\n${code}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], {
    encoding: 'utf8',
    env: { ...process.env, STADE_THREADS: '', STADE_BACKEND: '', ...env },
    timeout: 20_000,
  });
  return { out: r.stdout.trim(), err: r.stderr, status: r.status };
}

describe('config', () => {
  const threads0 = getThreads();
  const backend0 = getBackend();
  afterAll(() => {
    setThreads(threads0);
    setBackend(backend0);
  });

  it('defaults to the available cores and validates setThreads', () => {
    expect(availableCores()).toBe(availableParallelism());
    setThreads(3);
    expect(getThreads()).toBe(3);
    for (const bad of [0, -1, 1.5, Number.NaN, 1000]) {
      expect(() => setThreads(bad)).toThrow(
        `setThreads: expected an integer thread count in [1, 256], got ${JSON.stringify(bad)}`,
      );
    }
    expect(getThreads()).toBe(3);
  });

  it('switches the backend and resolves auto', () => {
    setBackend('js');
    expect(getBackend()).toBe('js');
    expect(resolveBackend()).toBe('js');
    setBackend('auto');
    expect(resolveBackend()).toBe(wasmSimdAvailable() ? 'wasm' : 'js');
    // @ts-expect-error: not a backend
    expect(() => setBackend('gpu')).toThrow(`setBackend: expected 'auto', 'wasm' or 'js', got "gpu"`);
  });

  it('detects WebAssembly SIMD with a module that is valid only with SIMD', () => {
    // Node 20 always has SIMD; the probe must validate, and the same bytes with v128 swapped for i32 must not.
    expect(wasmSimdAvailable()).toBe(true);
    expect(WebAssembly.validate(simdProbeBytes())).toBe(true);
    expect(WebAssembly.validate(simdProbeBytes(0x7f))).toBe(false);
  });

  it('learns the core count asynchronously on Node without process.getBuiltinModule (< 20.16)', () => {
    const code = `delete process.getBuiltinModule;
      const c = await import(${JSON.stringify(config)});
      const before = c.getThreads();
      await new Promise((r) => setTimeout(r, 200));
      console.log(before, c.getThreads());`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, STADE_THREADS: '' },
      timeout: 20_000,
    });
    expect(r.stderr).toBe('');
    // Before the import resolves the default is 1 thread; afterwards it is the real core count.
    const [before, after] = r.stdout.trim().split(' ').map(Number);
    expect([1, availableParallelism()]).toContain(before);
    expect(after).toBe(availableParallelism());
  });

  it('reads STADE_THREADS and STADE_BACKEND, with clear errors for bad values', () => {
    expect(run('console.log(c.getThreads(), c.getBackend())', {}).out).toBe(`${availableParallelism()} auto`);
    expect(run('console.log(c.getThreads(), c.getBackend())', { STADE_THREADS: '3', STADE_BACKEND: 'JS' }).out).toBe(
      '3 js',
    );
    const bad = run('c.getThreads()', { STADE_THREADS: 'lots' });
    expect(bad.status).not.toBe(0);
    expect(bad.err).toContain('env STADE_THREADS: expected an integer thread count in [1, 256], got "lots"');
    expect(run('c.getBackend()', { STADE_BACKEND: 'cuda' }).err).toContain(
      `env STADE_BACKEND: expected 'auto', 'wasm' or 'js', got "cuda"`,
    );
  });
});
