import { Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outlierRatio } from '../owl.js';
import { LayerStats } from '../stats.js';
import { analyzeLinear } from './layer.js';

/** Statistics with the Hessian of x [N, in], in sequences of `seq` rows. */
function statsOf(x: Tensor, seq: number): LayerStats {
  const st = new LayerStats(x.shape[1]!, { hessian: true });
  for (let r = 0; r < x.shape[0]!; r += seq) st.update(x.narrow(0, r, Math.min(seq, x.shape[0]! - r)));
  return st;
}

/** Inputs with per-column offsets (non-centred) and, optionally, some all-zero columns. */
function inputs(n: number, inp: number, seed: number, offset: number, zeroCols: number): Tensor {
  const x = randn([n, inp], seed);
  const off = randn([inp], seed + 7, offset);
  const mix = randn([inp, inp], seed + 9, 0.4); // correlate the columns so the cross terms matter
  const y = Tensor.zeros([n, inp]);
  for (let t = 0; t < n; t++)
    for (let j = 0; j < inp; j++) {
      let s = off.get(j);
      for (let k = 0; k < inp; k++) s += x.get(t, k) * (k === j ? 1 : mix.get(k, j));
      y.data[t * inp + j] = j < zeroCols ? 0 : s;
    }
  return y;
}

/** Direct float64 figures from the raw inputs: E over tokens of the per-output squared errors. */
function direct(x: Tensor, w: Tensor, mask: Uint8Array, centre: boolean) {
  const [n, inp] = x.shape as [number, number];
  const out = w.shape[0]!;
  const mean = new Float64Array(inp);
  for (let t = 0; t < n; t++) for (let j = 0; j < inp; j++) mean[j]! += x.get(t, j) / n;
  let diag = 0;
  let full = 0;
  for (let t = 0; t < n; t++)
    for (let i = 0; i < out; i++) {
      let e = 0;
      for (let j = 0; j < inp; j++) {
        if (!mask[i * inp + j]) continue;
        const d = w.get(i, j) * (x.get(t, j) - (centre ? mean[j]! : 0));
        e += d;
        diag += d * d;
      }
      full += e * e;
    }
  return { diag: diag / (n * out), full: full / (n * out), mean };
}

const close = (a: number, b: number, tol = 1e-9) =>
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * (1 + Math.abs(b)));

describe('analyze closed forms', () => {
  it('equal the direct computation on random layers (independence part, cross terms, input statistics)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 2, max: 24 }),
        fc.integer({ min: 0, max: 2 }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        fc.integer(),
        (out, inp, n, zeros, offset, s, seed) => {
          const x = inputs(n, inp, seed, offset, Math.min(zeros, inp - 1));
          const w = randn([out, inp], seed + 1);
          const st = statsOf(x, 3);
          const a = analyzeLinear('l.fc1', w, randn([out], seed + 2), st, { sparsity: s });
          const mw = a.pruned.wanda.mask;
          const ms = a.pruned.stade.mask;
          const dw = direct(x, w, mw, false);
          const ds = direct(x, w, ms, true);
          close(a.predicted.wanda.diag, dw.diag);
          close(a.predicted.wanda.diag + a.predicted.wanda.cross, dw.full);
          close(a.predicted.stade.diag, ds.diag);
          close(a.predicted.stade.diag + a.predicted.stade.cross, ds.full);
          let nc = 0;
          let norm = 0;
          for (let j = 0; j < inp; j++) {
            let e2 = 0;
            for (let t = 0; t < n; t++) e2 += x.get(t, j) ** 2 / n;
            if (e2 > 0) nc += dw.mean[j]! ** 2 / e2;
            norm += dw.mean[j]! ** 2;
          }
          close(a.noncentred, nc / inp);
          close(a.meanNorm, Math.sqrt(norm));
          expect(a.outlierShare).toBe(outlierRatio([{ weight: w, stats: st }], 5) / 100);
          // With the correction, each row's pruned set minimises sum W^2 Var: never above wanda's set's value.
          expect(a.predicted.stade.diag).toBeLessThanOrEqual(a.predicted.wanda.diag * (1 + 1e-6) + 1e-12);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('with centred inputs, STADE and Wanda masks and predicted errors coincide', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(4, 8, 12),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('0.5', '0.3', '0.7', '2:4', '1:4'),
        fc.constantFrom('row', 'layer') as fc.Arbitrary<'row' | 'layer'>,
        fc.integer(),
        (out, inp, half, p, group, seed) => {
          // Rows x and -x with integer entries: every column mean is exactly 0.
          const base = randn([half, inp], seed, 3);
          const rows: number[] = [];
          for (let r = 0; r < half; r++)
            for (const sign of [1, -1]) for (let j = 0; j < inp; j++) rows.push(sign * Math.round(base.get(r, j)) + 0);
          const st = statsOf(Tensor.from(rows, [2 * half, inp]), 2);
          const w = randn([out, inp], seed + 1);
          const target = p.includes(':') ? { pattern: p } : { sparsity: Number(p), group };
          const a = analyzeLinear('l.q_proj', w, null, st, target);
          expect(a.maskDifference).toBe(0);
          expect(a.noncentred).toBe(0);
          close(a.predicted.stade.diag, a.predicted.wanda.diag, 1e-12);
          close(a.predicted.stade.cross, a.predicted.wanda.cross, 1e-12);
          expect(Array.from(a.pruned.stade.weight.values())).toEqual(Array.from(a.pruned.wanda.weight.values()));
          expect(Array.from(a.pruned.stade.bias!.values()).every((b) => b === 0)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('counts columns with E[x^2] = 0 as centred and a constant column as 1', () => {
    const x = Tensor.from([0, 2, 1, 0, 2, -1, 0, 2, 1, 0, 2, -1], [4, 3]);
    const a = analyzeLinear('l.fc2', randn([2, 3], 1), null, statsOf(x, 2), { sparsity: 0.5 });
    close(a.noncentred, (0 + 1 + 0) / 3);
    close(a.meanNorm, 2);
  });
});
