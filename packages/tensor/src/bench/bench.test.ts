import { describe, expect, it } from 'vitest';
import { getBackend, getThreads } from '../config.js';
import { addBenchCase, benchCases } from './registry.js';
import { baselineKey, formatTable, runBench } from './run.js';
import { formatWeightRatios, WEIGHTS_OP } from './weights_cases.js';

// The registry and runner only (no timing assertions: the benchmark is never a timed test).
describe('bench registry and runner', () => {
  it('runs an added case on the requested kernels and threads and restores the settings', () => {
    const before = { backend: getBackend(), threads: getThreads() };
    let calls = 0;
    addBenchCase({
      op: 'test-op',
      shape: '3x3',
      flops: 1000,
      setup: () => () => {
        calls++;
      },
      tags: ['unit'],
    });
    expect(benchCases().some((c) => c.op === 'test-op')).toBe(true);
    const seen: string[] = [];
    const results = runBench({
      filter: ['unit'],
      kernels: ['js'],
      threads: [1],
      timeScale: 0.001,
      onResult: (r) => seen.push(r.op),
    });
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r).toMatchObject({ op: 'test-op', shape: '3x3', threads: 1, kernel: 'js' });
    expect(r.reps).toBeGreaterThanOrEqual(2);
    expect(calls).toBe(r.reps + 1); // one warm-up
    expect(r.gflops).toBeCloseTo(1000 / r.ms / 1e6, 6);
    expect(seen).toEqual(['test-op']);
    expect({ backend: getBackend(), threads: getThreads() }).toEqual(before);

    const table = formatTable(results, new Map([[baselineKey('test-op', '3x3', 1), r.gflops * 2]]));
    expect(table.split('\n')[0]).toMatch(
      /op\s+shape\s+kernel\s+threads\s+GFLOP\/s\s+ms\s+per CPU-s\s+torch GFLOP\/s\s+ratio/,
    );
    expect(table).toContain('0.50');
  });

  it('rejects malformed cases', () => {
    expect(() => addBenchCase({ op: '', shape: 'x', flops: 1, setup: () => () => {} })).toThrow(/addBenchCase/);
    expect(() => addBenchCase({ op: 'a', shape: 'x', flops: 0, setup: () => () => {} })).toThrow(/flops/);
  });

  it('weight-format table: ratio to the float32 case of the same layer, kernel and threads', () => {
    const r = (shape: string, threads: number, ms: number) => ({
      op: WEIGHTS_OP,
      shape,
      threads,
      kernel: 'wasm' as const,
      gflops: 1,
      ms,
      cpuGflops: 1,
      reps: 2,
    });
    const table = formatWeightRatios([
      r('1x8 by 4x8 f32', 1, 2),
      r('1x8 by 4x8 2:4 bf16', 1, 0.5),
      r('1x8 by 4x8 f32', 2, 1),
      r('1x8 by 4x8 bf16', 2, 0.8),
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/layer\s+format\s+threads\s+ms\s+weight GB\/s\s+x dense f32/);
    expect(lines[3]).toMatch(/2:4 bf16\s+1\s+0\.500\s+\S+\s+4\.00$/);
    expect(lines[5]).toMatch(/bf16\s+2\s+0\.800\s+\S+\s+1\.25$/);
    expect(formatWeightRatios([])).toBe('');
  });
});
