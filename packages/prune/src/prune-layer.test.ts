import type { Tensor } from '@stade/tensor';
import { mulberry32, randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pruneLinear } from './prune-layer.js';
import { LayerStats } from './stats.js';

/** Independent Gaussian columns: x_tj = mu_j + sigma_j * z. */
function gaussian(rows: number, mu: number[], sigma: number[], seed: number): Tensor {
  const z = randn([rows, mu.length], seed);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < mu.length; j++) z.data[r * mu.length + j] = mu[j]! + sigma[j]! * z.data[r * mu.length + j]!;
  return z;
}

function outputMse(x: Tensor, w: Tensor, b: Tensor | null, w2: Tensor, b2: Tensor | null): number {
  const [rows, inp] = x.shape as [number, number];
  const out = w.shape[0]!;
  let se = 0;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < out; i++) {
      let d = (b ? b.data[i]! : 0) - (b2 ? b2.data[i]! : 0);
      for (let j = 0; j < inp; j++) d += x.data[r * inp + j]! * (w.data[i * inp + j]! - w2.data[i * inp + j]!);
      se += d * d;
    }
  }
  return se / (rows * out);
}

describe('STADE bias correction', () => {
  it('output MSE on non-centred Gaussian inputs ~= mean_i sum_{j pruned} W_ij^2 var_j, and below the MSE without it', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const inp = 24;
        const out = 12;
        const r = mulberry32(seed);
        const mu = Array.from({ length: inp }, () => 6 * r() - 3);
        const sigma = Array.from({ length: inp }, () => 0.5 + 1.5 * r());
        const w = randn([out, inp], seed + 1);
        const b = randn([out], seed + 2, 0.1);
        const st = new LayerStats(inp);
        const calib = gaussian(4000, mu, sigma, seed + 3);
        for (let s = 0; s < 8; s++) st.update(calib.narrow(0, s * 500, 500));
        const on = pruneLinear('fc2', w, b, st, { method: 'stade', sparsity: 0.5 });
        const off = pruneLinear('fc2', w, b, st, { method: 'stade', sparsity: 0.5, biasCorrection: false });
        expect(on.biasCorrected).toBe(true);
        expect(on.mask).toEqual(off.mask);
        expect(off.bias).toBe(b);
        let expected = 0;
        for (let i = 0; i < out; i++)
          for (let j = 0; j < inp; j++) if (on.mask[i * inp + j]) expected += w.get(i, j) ** 2 * sigma[j]! ** 2;
        expected /= out;
        const test = gaussian(4000, mu, sigma, seed + 4);
        const mseOn = outputMse(test, w, b, on.weight, on.bias);
        const mseOff = outputMse(test, w, b, off.weight, off.bias);
        expect(Math.abs(mseOn / expected - 1)).toBeLessThan(0.1);
        expect(mseOn).toBeLessThan(mseOff);
      }),
      { numRuns: 5 },
    );
  });

  it('gives a layer without a bias one; is only applied to stade layers', () => {
    const w = randn([4, 6], 1);
    const st = new LayerStats(6);
    st.update(randn([10, 6], 2, 1, 2));
    const r = pruneLinear('model.layers.0.mlp.down_proj', w, null, st, { method: 'stadew', sparsity: 0.5 });
    expect(r.method).toBe('stade');
    expect(r.bias).not.toBeNull();
    expect(r.bias!.shape).toEqual([4]);
    const u = pruneLinear('model.layers.0.mlp.up_proj', w, null, st, { method: 'stadew', sparsity: 0.5 });
    expect(u.method).toBe('wanda');
    expect(u.bias).toBeNull();
    expect(pruneLinear('x', w, null, st, { method: 'stade-star', sparsity: 0.5 }).bias).toBeNull();
  });
});

describe('pruneLinear', () => {
  it('sparsity 0 changes nothing, for every method', () => {
    const w = randn([8, 8], 3);
    const b = randn([8], 4);
    const st = new LayerStats(8, { hessian: true });
    st.update(randn([20, 8], 5, 1, 1));
    for (const method of [
      'magnitude',
      'random',
      'wanda',
      'stade',
      'stade-star',
      'stadew',
      'sparsegpt',
      'sparsegpt-noupdate',
    ] as const) {
      const r = pruneLinear('fc2', w, b, st, { method, sparsity: 0, seed: 1 });
      expect(r.weight.toArray()).toEqual(w.toArray());
      expect(r.bias!.toArray()).toEqual(b.toArray());
      expect(pruneLinear('fc2', w, null, st, { method, sparsity: 0, seed: 1 }).bias).toBeNull();
    }
  });

  it('rejects unknown methods and missing statistics', () => {
    const w = randn([2, 4], 1);
    expect(() => pruneLinear('fc1', w, null, null, { method: 'obs' as never, sparsity: 0.5 })).toThrow(
      /unknown method "obs"/,
    );
    expect(() => pruneLinear('fc1', w, null, null, { method: 'sparsegpt', sparsity: 0.5 })).toThrow(
      /fc1: sparsegpt needs the Hessian/,
    );
    expect(() => pruneLinear('fc1', w, null, null, { method: 'wanda', sparsity: 0.5 })).toThrow(
      /calibration statistics are required/,
    );
  });
});
