// dense-stats mode on a real fixture model: prune, restore, prune again from the same statistics.
import { fileURLToPath } from 'node:url';
import { loadModel, perplexity } from '@stade/transformer';
import { describe, expect, it } from 'vitest';
import {
  applyPruning,
  collectDenseStats,
  contiguousWindows,
  pruneModel,
  restoreLinears,
  snapshotLinears,
} from '../src/index.js';

const dir = fileURLToPath(new URL('../../transformer/test/fixtures/llama-gqa', import.meta.url));

function ids(n: number, seed: number): Int32Array {
  let s = seed;
  return Int32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % 197;
  });
}

describe('dense-stats mode on llama-gqa', () => {
  it('restoreLinears brings back the dense model even after STADE added biases; the first block matches sequential', () => {
    const model = loadModel(dir);
    const windows = contiguousWindows(ids(4 * 24, 5), { nsamples: 4, seqlen: 24 });
    const evalIds = ids(48, 9);
    const dense = perplexity(model, evalIds, { seqlen: 24 }).ppl;
    const snap = snapshotLinears(model);
    const stats = collectDenseStats(model, windows);
    const r1 = applyPruning(model, stats, { method: 'stade', sparsity: 0.5 });
    expect(r1.layers.every((l) => l.biasCorrected)).toBe(true);
    const pruned = perplexity(model, evalIds, { seqlen: 24 }).ppl;
    expect(pruned).not.toBeCloseTo(dense, 3);
    restoreLinears(model, snap);
    expect(perplexity(model, evalIds, { seqlen: 24 }).ppl).toBeCloseTo(dense, 6);
    const r2 = applyPruning(model, stats, { method: 'wanda', sparsity: 0.6, owl: true });
    expect(r2.owl!.sparsities).toHaveLength(model.numBlocks);
    expect(r2.zeros).toBeGreaterThan(0.55);
    // Block 0 sees the same (dense) inputs in both modes, so its layers match the sequential driver's.
    restoreLinears(model, snap);
    const seq = loadModel(dir);
    pruneModel(seq, windows, { method: 'stade', sparsity: 0.5, layerMetricWindows: 0 });
    applyPruning(model, stats, { method: 'stade', sparsity: 0.5 });
    for (const name of model.linearNames(0)) {
      expect(model.getLinear(name).weight.toArray()).toEqual(seq.getLinear(name).weight.toArray());
      expect(model.getLinear(name).bias!.toArray()).toEqual(seq.getLinear(name).bias!.toArray());
    }
  });
});
