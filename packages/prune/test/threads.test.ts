import { getThreads, poolInfo, setThreads } from '@stade/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { pruneModel } from '../src/index.js';
import { FakeModel, tokenWindows } from './fake-model.js';

// Large enough that the statistics (column moments, X^T X) and the layer-metric matmuls are split across workers.
function run(threads: number, method: 'stade' | 'sparsegpt' | 'wanda'): Record<string, number[]> {
  setThreads(threads);
  const m = new FakeModel({ blocks: 2, hidden: 48, ffn: 192, vocab: 50, seed: 4, maxPos: 256 });
  pruneModel(m, tokenWindows(3, 128, 50, 8), { method, sparsity: 0.5, layerMetricWindows: 1 });
  const out: Record<string, number[]> = {};
  for (let i = 0; i < 2; i++)
    for (const n of m.linearNames(i)) {
      const l = m.getLinear(n);
      out[n] = [...l.weight.toArray(), ...(l.bias?.toArray() ?? [])];
    }
  return out;
}

describe('thread count', () => {
  const before = getThreads();
  afterAll(() => setThreads(before));

  it('gives identical pruned weights and biases with 1 and 2 threads', () => {
    for (const method of ['stade', 'sparsegpt', 'wanda'] as const) {
      const one = run(1, method);
      const calls = poolInfo().parallelCalls;
      const two = run(2, method);
      // The Hessian accumulation of SparseGPT is large enough to be split across the workers.
      if (method === 'sparsegpt')
        expect(poolInfo().parallelCalls, 'work was split across workers').toBeGreaterThan(calls);
      expect(two).toEqual(one);
    }
  });
});
