import { describe, expect, it } from 'vitest';
import {
  applyPruning,
  collectDenseStats,
  type PruneReport,
  pruneLinear,
  pruneModel,
  restoreLinears,
  StatsCollector,
  snapshotLinears,
} from '../src/index.js';
import { FakeModel, tokenWindows } from './fake-model.js';

const weights = (m: FakeModel) => {
  const out: Record<string, number[]> = {};
  for (let i = 0; i < m.numBlocks; i++)
    for (const n of m.linearNames(i)) {
      const l = m.getLinear(n);
      out[n] = [...l.weight.toArray(), ...(l.bias ? l.bias.toArray() : [])];
    }
  return out;
};

describe('pruneModel (sequential)', () => {
  const windows = tokenWindows(4, 12, 20);

  it('prunes every layer to the exact per-row count and reports per block and layer', () => {
    const m = new FakeModel({ blocks: 3 });
    const events: string[] = [];
    const r = pruneModel(m, windows, {
      method: 'stadew',
      sparsity: 0.5,
      onProgress: (e) => events.push(`${e.phase}:${e.block}`),
    });
    expect(r.layers.map((l) => l.name)).toEqual([0, 1, 2].flatMap((i) => m.linearNames(i)));
    for (const l of r.layers) {
      expect(l.zeros).toBeGreaterThanOrEqual(0.5);
      const w = m.getLinear(l.name).weight;
      const [out, inp] = w.shape as [number, number];
      for (let i = 0; i < out; i++) {
        let z = 0;
        for (let j = 0; j < inp; j++) z += w.get(i, j) === 0 ? 1 : 0;
        expect(z).toBeGreaterThanOrEqual(Math.floor(inp * 0.5));
      }
      expect(l.mse).not.toBeNull();
      expect(l.cosine!).toBeGreaterThan(0);
      expect(l.cosine!).toBeLessThanOrEqual(1 + 1e-12);
    }
    expect(r.layers.filter((l) => l.biasCorrected).map((l) => l.name)).toEqual(
      [0, 1, 2].map((i) => `model.decoder.layers.${i}.fc2`),
    );
    expect(r.blocks).toHaveLength(3);
    for (const b of r.blocks) {
      expect(b.mse!).toBeGreaterThan(0);
      expect(b.cosine!).toBeGreaterThan(0.5);
    }
    expect(r.zeros).toBeCloseTo(0.5, 2);
    expect(m.released).toEqual([0, 1, 2]);
    expect(events).toContain('stats:0');
    expect(events).toContain('rerun:2');
    // two passes per block: stats + rerun
    expect(m.blockCalls).toBe(3 * 2 * windows.length);
  });

  it('per-layer errors are those of the layer output on the measured windows', () => {
    const m = new FakeModel({ blocks: 1 });
    const dense = new FakeModel({ blocks: 1 });
    const r = pruneModel(m, windows, { method: 'magnitude', sparsity: 0.5, layerMetricWindows: 1 });
    const name = m.linearNames(0)[0]!; // fc1: its input is the embedding of the window
    const x = m.embed(windows[0]!);
    const [T, inp] = x.shape as [number, number];
    const a = dense.getLinear(name);
    const b = m.getLinear(name);
    const out = a.weight.shape[0]!;
    let se = 0;
    let dd = 0;
    let pp = 0;
    let dp = 0;
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < out; i++) {
        let yd = a.bias!.get(i);
        let yp = b.bias!.get(i);
        for (let j = 0; j < inp; j++) {
          yd += x.get(t, j) * a.weight.get(i, j);
          yp += x.get(t, j) * b.weight.get(i, j);
        }
        se += (yd - yp) ** 2;
        dd += yd * yd;
        pp += yp * yp;
        dp += yd * yp;
      }
    }
    const l = r.layers.find((z) => z.name === name)!;
    expect(l.mse!).toBeCloseTo(se / (T * out), 4);
    expect(l.cosine!).toBeCloseTo(dp / Math.sqrt(dd * pp), 5);
  });

  it('is sequential: block i+1 is pruned from statistics of the pruned block i outputs', () => {
    const m = new FakeModel({ blocks: 2 });
    pruneModel(m, windows, { method: 'wanda', sparsity: 0.5 });
    // Redo by hand: prune block 0 as the driver did, then block 1 from the pruned block 0's outputs.
    const ref = new FakeModel({ blocks: 2 });
    let hs = windows.map((w) => ref.embed(w));
    for (let i = 0; i < 2; i++) {
      const c = new StatsCollector();
      for (const h of hs) ref.block(i, h, { tap: c.tap });
      for (const n of ref.linearNames(i)) {
        const l = ref.getLinear(n);
        const p = pruneLinear(n, l.weight, l.bias, c.get(n), { method: 'wanda', sparsity: 0.5 });
        ref.setLinear(n, p.weight, p.bias);
      }
      hs = hs.map((h) => ref.block(i, h));
    }
    expect(weights(m)).toEqual(weights(ref));
  });

  it('sparsity 0 changes nothing; the same seed gives the same masks', () => {
    for (const method of ['magnitude', 'wanda', 'stade', 'sparsegpt'] as const) {
      const m = new FakeModel();
      const before = weights(m);
      const r = pruneModel(m, windows, { method, sparsity: 0 });
      expect(weights(m)).toEqual(before);
      for (const b of r.blocks) expect(b.mse).toBe(0);
    }
    const a = new FakeModel();
    const b = new FakeModel();
    pruneModel(a, windows, { method: 'random', sparsity: 0.4, seed: 9 });
    pruneModel(b, windows, { method: 'random', sparsity: 0.4, seed: 9 });
    expect(weights(a)).toEqual(weights(b));
    const c = new FakeModel();
    pruneModel(c, windows, { method: 'random', sparsity: 0.4, seed: 10 });
    expect(weights(c)).not.toEqual(weights(a));
  });

  it('N:M, per-block lists and OWL', () => {
    const m = new FakeModel({ blocks: 2 });
    const r = pruneModel(m, windows, { method: 'sparsegpt', pattern: '2:4' });
    expect(r.pattern).toBe('2:4');
    expect(r.sparsity).toBe(0.5);
    const m2 = new FakeModel({ blocks: 2 });
    const r2 = pruneModel(m2, windows, { method: 'magnitude', sparsities: [0.25, 0.75] });
    expect(r2.blocks.map((b) => b.sparsity)).toEqual([0.25, 0.75]);
    expect(r2.sparsity).toBeCloseTo(0.5, 10);
    const m3 = new FakeModel({ blocks: 3 });
    const r3 = pruneModel(m3, windows, { method: 'wanda', sparsity: 0.5, owl: { lambda: 0.1, m: 2 } });
    expect(r3.owl!.sparsities).toHaveLength(3);
    const avg = r3.owl!.sparsities.reduce((a, b) => a + b, 0) / 3;
    expect(avg).toBeCloseTo(0.5, 12);
    expect(Math.max(...r3.owl!.sparsities) - Math.min(...r3.owl!.sparsities)).toBeCloseTo(
      r3.owl!.ratios.every((x) => x === r3.owl!.ratios[0]) ? 0 : 0.2,
      12,
    );
  });

  it('rejects bad options with clear messages', () => {
    const m = new FakeModel();
    expect(() => pruneModel(m, windows, { method: 'wanda', sparsity: 1.2 })).toThrow(
      /sparsity 1.2 is outside \[0, 1\)/,
    );
    expect(() => pruneModel(m, windows, { method: 'wanda', pattern: '2:4', sparsity: 0.3 })).toThrow(
      /does not match the N:M pattern 2:4/,
    );
    expect(() => pruneModel(m, windows, { method: 'wanda', pattern: '3:5' })).toThrow(
      /multiple of 5, got 8 \(layer model.decoder.layers.0.fc1\)/,
    );
    expect(() => pruneModel(m, windows, { method: 'wanda', sparsities: [0.5] })).toThrow(
      /1 per-block sparsities given for a model with 2 blocks/,
    );
    expect(() => pruneModel(m, [], { method: 'wanda', sparsity: 0.5 })).toThrow(/needs calibration windows/);
    expect(() => pruneModel(m, windows, { method: 'wanda', sparsity: 0.5, sparsities: [0.5, 0.6] })).toThrow(
      /average 0.550000 over the parameters, not the requested 0.5/,
    );
  });
});

describe('dense-stats mode', () => {
  const windows = tokenWindows(3, 10, 20, 5);

  it('prunes several sparsities from one statistics pass; block 0 matches the sequential driver', () => {
    const m = new FakeModel({ blocks: 2 });
    const stats = collectDenseStats(m, windows, { hessian: true });
    const calls = m.blockCalls;
    const snap = snapshotLinears(m);
    const reports: PruneReport[] = [];
    for (const s of [0.3, 0.6]) {
      restoreLinears(m, snap);
      reports.push(applyPruning(m, stats, { method: 'stade', sparsity: s }));
    }
    expect(m.blockCalls).toBe(calls); // no further model runs
    expect(reports.map((r) => r.mode)).toEqual(['dense-stats', 'dense-stats']);
    expect(reports[1]!.zeros).toBeGreaterThan(reports[0]!.zeros);
    const seq = new FakeModel({ blocks: 2 });
    pruneModel(seq, windows, { method: 'stade', sparsity: 0.6 });
    const n0 = m.linearNames(0)[0]!;
    expect(m.getLinear(n0).weight.toArray()).toEqual(seq.getLinear(n0).weight.toArray());
    restoreLinears(m, snap);
    const sg = applyPruning(m, stats, { method: 'sparsegpt', sparsity: 0.5 });
    expect(sg.layers.every((l) => l.zeros >= 0.5)).toBe(true);
    restoreLinears(m, snap);
    const owl = applyPruning(m, stats, { method: 'wanda', sparsity: 0.5, owl: { lambda: 0.05 } });
    expect(owl.owl!.sparsities.reduce((a, b) => a + b, 0) / 2).toBeCloseTo(0.5, 12);
    expect(owl.blocks.map((b) => b.sparsity)).toEqual(owl.owl!.sparsities);
    const nohess = collectDenseStats(m, windows);
    expect(() => applyPruning(m, nohess, { method: 'sparsegpt', sparsity: 0.5 })).toThrow(
      /needs dense statistics collected with the Hessian/,
    );
  });
});
