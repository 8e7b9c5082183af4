import { Tensor } from '@stade/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outlierRatio, owlAllocation } from './owl.js';
import { LayerStats } from './stats.js';

describe('OWL', () => {
  it('outlier ratio: percent of |W_ij| * sqrt(scaler_j) above M times their mean', () => {
    const st = new LayerStats(2);
    st.update(Tensor.from([1, 2, 1, 2], [2, 2])); // scaler = [2, 8] / 1 sequence
    const w = Tensor.from([1, 1, 10, 0, 0, 0, 0, 0], [4, 2]);
    // a = [sqrt2, sqrt8, 10 sqrt2, 0, 0, 0, 0, 0]; mean = (13 sqrt2 + ... ) / 8
    const a = [Math.SQRT2, Math.sqrt(8), 10 * Math.SQRT2, 0, 0, 0, 0, 0];
    const mean = a.reduce((s, x) => s + x, 0) / 8;
    for (const m of [1, 2, 5]) {
      expect(outlierRatio([{ weight: w, stats: st }], m)).toBe((100 * a.filter((x) => x > m * mean).length) / 8);
    }
  });

  it('allocation: spread 2*lambda, more outliers => lower sparsity, parameter-weighted mean = target', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { minLength: 2, maxLength: 8 }),
        fc.double({ min: 0.4, max: 0.6, noNaN: true }),
        fc.double({ min: 0, max: 0.15, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 8, maxLength: 8 }),
        (ratios, target, lambda, p) => {
          const params = p.slice(0, ratios.length);
          const s = owlAllocation(ratios, params, target, { lambda });
          const avg = s.reduce((a, x, i) => a + x * params[i]!, 0) / params.reduce((a, b) => a + b, 0);
          expect(avg).toBeCloseTo(target, 10);
          const distinct = Math.max(...ratios) > Math.min(...ratios);
          expect(Math.max(...s) - Math.min(...s)).toBeCloseTo(distinct ? 2 * lambda : 0, 10);
          for (let i = 0; i < ratios.length; i++)
            for (let j = 0; j < ratios.length; j++) {
              if (ratios[i]! > ratios[j]!) expect(s[i]!).toBeLessThanOrEqual(s[j]! + 1e-12);
            }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses allocations outside [0, 1)', () => {
    expect(() => owlAllocation([0, 10], [1, 1], 0.95, { lambda: 0.2 })).toThrow(
      /OWL gives block 0 sparsity 1.1500 outside \[0, 1\)/,
    );
  });
});
