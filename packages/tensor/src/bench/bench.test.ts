import { describe, expect, it } from 'vitest';
import { getBackend, getThreads } from '../config.js';
import { addBenchCase, benchCases } from './registry.js';
import { baselineKey, formatTable, runBench } from './run.js';

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
});
