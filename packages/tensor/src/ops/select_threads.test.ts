/** kthSmallestPerRow and argsortRows on the worker pool: same results for 1 and 2 threads, really split. */
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, setThreads } from '../config.js';
import { poolInfo, shutdownPool } from '../parallel/pool.js';
import { randn } from '../testing/index.js';
import { argsortRows, kthSmallestPerRow } from './select.js';

const threads0 = getThreads();
afterAll(async () => {
  setThreads(threads0);
  await shutdownPool();
});

describe('select ops on the pool', () => {
  it('give identical results for 1 and 2 threads and take the parallel path', () => {
    const x = randn([401, 769], 11).transpose().narrow(0, 1, 700); // [700, 401] strided
    setThreads(1);
    const k1 = kthSmallestPerRow(x, 200);
    const a1 = argsortRows(x);
    setThreads(2);
    const before = poolInfo().parallelCalls;
    const k2 = kthSmallestPerRow(x, 200);
    const a2 = argsortRows(x);
    if (poolInfo().platform !== null) expect(poolInfo().parallelCalls).toBe(before + 2);
    expect(Array.from(k2)).toEqual(Array.from(k1));
    expect(a2.length).toBe(a1.length);
    let diff = 0;
    for (let i = 0; i < a1.length; i++) if (a1[i] !== a2[i]) diff++;
    expect(diff).toBe(0);
  });
});
