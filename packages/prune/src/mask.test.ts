import { Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMask, biasCorrection, countPruned, parsePattern, selectMask } from './mask.js';

/** Scores with many ties: small integers. */
const arbScores = fc
  .record({ out: fc.constantFrom(1, 2, 3, 5, 7), inp: fc.constantFrom(1, 2, 4, 8, 12, 13, 16), seed: fc.integer() })
  .chain(({ out, inp }) =>
    fc.record({
      out: fc.constant(out),
      inp: fc.constant(inp),
      scores: fc
        .array(fc.integer({ min: 0, max: 6 }), { minLength: out * inp, maxLength: out * inp })
        .map((a) => Float32Array.from(a)),
    }),
  );
const arbSparsity = fc.double({ min: 0, max: 0.999, noNaN: true });

/** Reference: stable ascending argsort, first k. */
function stableLowest(vals: number[], k: number): Set<number> {
  const idx = vals.map((_, i) => i).sort((a, b) => vals[a]! - vals[b]! || a - b);
  return new Set(idx.slice(0, k));
}

describe('selectMask', () => {
  it('row: exactly floor(in*s) per row, the stable-sort choice', () => {
    fc.assert(
      fc.property(arbScores, arbSparsity, ({ out, inp, scores }, s) => {
        const m = selectMask(scores, out, inp, { sparsity: s });
        const k = Math.floor(inp * s);
        for (let i = 0; i < out; i++) {
          const row = Array.from(scores.subarray(i * inp, (i + 1) * inp));
          const want = stableLowest(row, k);
          for (let j = 0; j < inp; j++) expect(m[i * inp + j]).toBe(want.has(j) ? 1 : 0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('layer: exactly floor(out*in*s) overall, the stable-sort choice', () => {
    fc.assert(
      fc.property(arbScores, arbSparsity, ({ out, inp, scores }, s) => {
        const m = selectMask(scores, out, inp, { sparsity: s, group: 'layer' });
        const want = stableLowest(Array.from(scores), Math.floor(out * inp * s));
        expect(countPruned(m)).toBe(want.size);
        for (let k = 0; k < m.length; k++) expect(m[k]).toBe(want.has(k) ? 1 : 0);
      }),
      { numRuns: 150 },
    );
  });

  it('masks are nested as sparsity grows (row and layer)', () => {
    fc.assert(
      fc.property(
        arbScores,
        arbSparsity,
        arbSparsity,
        fc.constantFrom('row', 'layer' as const),
        ({ out, inp, scores }, a, b, group) => {
          const [lo, hi] = a < b ? [a, b] : [b, a];
          const m1 = selectMask(scores, out, inp, { sparsity: lo, group });
          const m2 = selectMask(scores, out, inp, { sparsity: hi, group });
          for (let k = 0; k < m1.length; k++) if (m1[k]) expect(m2[k]).toBe(1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('N:M: exactly N pruned in every group of M, the N lowest', () => {
    fc.assert(
      fc.property(
        fc.constantFrom([1, 2], [2, 4], [4, 8], [1, 3], [3, 5]),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        ([n, m], out, groups, seed) => {
          const inp = m! * groups;
          const scores = randn([out, inp], seed).data;
          const mask = selectMask(scores, out, inp, { pattern: `${n}:${m}` });
          for (let g = 0; g < out * inp; g += m!) {
            const want = stableLowest(Array.from(scores.subarray(g, g + m!)), n!);
            let c = 0;
            for (let k = 0; k < m!; k++) {
              c += mask[g + k]!;
              expect(mask[g + k]).toBe(want.has(k) ? 1 : 0);
            }
            expect(c).toBe(n);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('sparsity 0 prunes nothing', () => {
    const s = randn([4, 6], 1).data;
    expect(countPruned(selectMask(s, 4, 6, { sparsity: 0 }))).toBe(0);
    expect(countPruned(selectMask(s, 4, 6, { sparsity: 0, group: 'layer' }))).toBe(0);
  });

  it('errors name the value and the layer', () => {
    const s = new Float32Array(24);
    expect(() => selectMask(s, 4, 6, { sparsity: 1, layerName: 'fc1' })).toThrow(
      /sparsity 1 is outside \[0, 1\) \(layer fc1\)/,
    );
    expect(() => selectMask(s, 4, 6, { sparsity: -0.1 })).toThrow(/sparsity -0.1/);
    expect(() => selectMask(s, 4, 6, { pattern: '2:4', layerName: 'q_proj' })).toThrow(
      /multiple of 4, got 6 \(layer q_proj\)/,
    );
    expect(() => selectMask(s, 4, 6, { pattern: '1:2', sparsity: 0.6, layerName: 'fc2' })).toThrow(
      /sparsity 0.6 does not match the N:M pattern 1:2 .*fc2/,
    );
    expect(() => selectMask(s, 4, 6, { pattern: '4:4' })).toThrow(/invalid N:M pattern 4:4/);
    expect(() => parsePattern('2-4')).toThrow(/invalid pattern "2-4"/);
    expect(() => selectMask(s, 4, 6, {})).toThrow(/sparsity is required/);
  });
});

describe('applyMask and biasCorrection', () => {
  it('zeroes exactly the masked entries and leaves the input untouched', () => {
    const w = randn([3, 4], 2);
    const before = w.toArray();
    const mask = Uint8Array.from([1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1]);
    const p = applyMask(w, mask);
    expect(w.toArray()).toEqual(before);
    p.toArray().forEach((v, k) => {
      expect(v).toBe(mask[k] ? 0 : before[k]);
    });
  });

  it('adds sum_{j pruned} W_ij * mean_j from the weights before zeroing; creates a bias when none', () => {
    const w = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    const mask = Uint8Array.from([1, 0, 1, 0, 1, 0]);
    const mean = Float64Array.from([10, 100, 1000]);
    expect(biasCorrection(w, null, mask, mean).toArray()).toEqual([1 * 10 + 3 * 1000, 5 * 100]);
    expect(biasCorrection(w, Tensor.from([0.5, -1]), mask, mean).toArray()).toEqual([3010.5, 499]);
    // works on a transposed view of the weight
    const wt = Tensor.from([1, 4, 2, 5, 3, 6], [3, 2]).transpose();
    expect(biasCorrection(wt, null, mask, mean).toArray()).toEqual([3010, 500]);
  });
});
