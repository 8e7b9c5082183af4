import { describe, expect, it } from 'vitest';
import { analyzeModel, ErrorMeter, pruneLinear, recommendModel, StatsCollector } from '../src/index.js';
import { FakeModel, tokenWindows } from './fake-model.js';

describe('analyzeModel', () => {
  it('measures on held-out windows what the exact closed form predicts when they are the calibration windows', () => {
    const model = new FakeModel({ blocks: 2, hidden: 8, ffn: 16, seed: 5 });
    const before = [0, 1].flatMap((i) => model.linearNames(i).map((n) => model.getLinear(n)));
    const windows = tokenWindows(6, 10, model.vocab);
    const r = analyzeModel(model, windows, windows, { sparsity: 0.5 });
    expect(r.layers.map((l) => l.name)).toEqual([0, 1].flatMap((i) => model.linearNames(i)));
    for (const l of r.layers) {
      for (const m of ['wanda', 'stade'] as const) {
        const exact = l.predicted[m].diag + l.predicted[m].cross;
        // Same tokens: the held-out MSE (float32 outputs) is the exact in-sample error.
        expect(Math.abs(l.measured![m] - exact)).toBeLessThan(1e-4 * exact + 1e-9);
      }
      expect(['wanda', 'stade']).toContain(l.recommend);
      expect(l.reason).toMatch(/^(wanda|stade): /);
    }
    expect(r.summary.disagree).toEqual([]);
    expect(r.blocks).toHaveLength(2);
    const sums = { wanda: 0, stade: 0, stadew: 0 };
    for (const b of r.blocks) for (const m of ['wanda', 'stade', 'stadew'] as const) sums[m] += b.relative[m];
    expect(r.recommend).toBe(recommendModel(sums, 2).recommend);
    // The model is left dense.
    const after = [0, 1].flatMap((i) => model.linearNames(i).map((n) => model.getLinear(n)));
    after.forEach((l, k) => {
      expect(l.weight).toBe(before[k]!.weight);
    });
  });

  it('block figures are the whole block pruned with each method on the dense inputs', () => {
    const model = new FakeModel({ blocks: 1, hidden: 8, ffn: 16, seed: 9 });
    const calib = tokenWindows(5, 12, model.vocab, 1);
    const held = tokenWindows(3, 12, model.vocab, 2);
    const r = analyzeModel(model, calib, held, { pattern: '2:4' });
    expect(r.sparsity).toBe(0.5);
    const c = new StatsCollector();
    for (const ids of calib) model.block(0, model.embed(ids), { tap: c.tap });
    const dense = held.map((ids) => model.block(0, model.embed(ids)));
    for (const method of ['wanda', 'stade'] as const) {
      for (const n of model.linearNames(0)) {
        const l = model.getLinear(n);
        const p = pruneLinear(n, l.weight, l.bias, c.get(n), { method, pattern: '2:4' });
        model.setLinear(n, p.weight, p.bias);
      }
      const meter = new ErrorMeter();
      held.forEach((ids, k) => {
        meter.addTensors(dense[k]!, model.block(0, model.embed(ids)));
      });
      expect(r.blocks[0]!.mse[method]).toBeCloseTo(meter.mse(), 10);
      const fresh = new FakeModel({ blocks: 1, hidden: 8, ffn: 16, seed: 9 });
      for (const n of model.linearNames(0)) model.setLinear(n, fresh.getLinear(n).weight, fresh.getLinear(n).bias);
    }
  });

  it('without held-out windows, recommends from the predictions only', () => {
    const model = new FakeModel({ blocks: 1, seed: 2 });
    const r = analyzeModel(model, tokenWindows(4, 8, model.vocab), [], { sparsity: 0.6 });
    expect(r.blocks).toEqual([]);
    for (const l of r.layers) expect(l.measured).toBeNull();
    expect(['wanda', 'stade', 'stadew']).toContain(r.recommend);
  });
});
