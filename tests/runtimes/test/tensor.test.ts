import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUNTIMES, repo, runOn, versionOf } from './runtimes.js';

interface ProbeResult {
  simd: boolean;
  relaxed: boolean;
  pool: { readyWorkers: number; parallelCalls: number; platform: string };
  digest: string;
  results: { name: string; ok: boolean; error?: string }[];
}

const probe = join(repo, 'tests/runtimes/probes/tensor.mjs');
const outcomes = new Map<string, ProbeResult>();

// The tensor engine's property subset (probes/tensor.mjs) on every runtime, against float64 references.
describe.each(RUNTIMES)('tensor properties on $name', (rt) => {
  it('pass with the SIMD (relaxed-FMA where validated) and JS kernels, 1 and 2 threads bit-identical', () => {
    const r = runOn(rt, probe);
    expect(r.code, `${versionOf(rt)}\n${r.stderr}`).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ProbeResult;
    outcomes.set(rt.name, out);
    expect(out.simd).toBe(true);
    expect(out.results.filter((x) => !x.ok)).toEqual([]);
    expect(out.results.length).toBeGreaterThanOrEqual(10);
    expect(out.pool.readyWorkers).toBeGreaterThanOrEqual(1);
  });

  it('exits on its own after using the worker pool (no shutdownPool call)', () => {
    const r = runOn(rt, join(repo, 'tests/runtimes/probes/exit.mjs'), [], { timeout: 60_000 });
    expect(r.code, `${versionOf(rt)}\n${r.stderr}`).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { y0: number; pool: { parallelCalls: number; platform: string } };
    expect(out.y0).toBe(64);
    expect(out.pool.parallelCalls).toBe(1);
    // Deno runs the pool on Web Workers (its node:worker_threads ports are slow with shared buffers).
    expect(out.pool.platform).toBe(rt.name === 'deno' ? 'deno' : 'node');
  });
});

describe('kernel choice per runtime', () => {
  it('relaxed SIMD where the runtime validates it; same bits as Node 20 unless the FMA is fused', () => {
    const [node, lts, bun, deno] = ['node', 'node-lts', 'bun', 'deno'].map((n) => outcomes.get(n));
    expect(node && lts && bun && deno, 'every runtime ran').toBeTruthy();
    // The pinned Node LTS and Deno (V8 with relaxed SIMD on by default) and Bun (JavaScriptCore) validate
    // relaxed SIMD; Node 20 does not without a flag.
    expect([lts!.relaxed, bun!.relaxed, deno!.relaxed]).toEqual([true, true, true]);
    if (!node!.relaxed) {
      // JavaScriptCore lowers relaxed_madd to mul + add: Node 20's bits. V8 fuses it on x86 with FMA: the two
      // V8 runtimes agree with each other (within tolerance of Node 20, checked by the properties above).
      expect(bun!.digest).toBe(node!.digest);
      expect(deno!.digest).toBe(lts!.digest);
    }
  });
});
