import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refColumnStats, refXtX } from '../kernels/reference.js';
import { Tensor } from '../tensor.js';
import { arbAnyLayout, arbDim, expectClose, randn } from '../testing/index.js';
import { accumulateXtX, ColumnStats } from './stats.js';

const arbBatches = fc
  .tuple(arbDim(23), fc.array(arbDim(19), { minLength: 1, maxLength: 4 }))
  .chain(([cols, rows]) => fc.tuple(...rows.map((r) => arbAnyLayout([r, cols], { std: 2, mean: 3 }))));

describe('ColumnStats', () => {
  it('matches a two-pass reference over the concatenated rows, however the stream is split and merged', () => {
    fc.assert(
      fc.property(arbBatches, fc.boolean(), (batches, viaMerge) => {
        const cols = batches[0]!.shape[1]!;
        const s = new ColumnStats(cols);
        for (const b of batches) {
          if (viaMerge) s.merge(new ColumnStats(cols).update(b));
          else s.update(b);
        }
        const all = Tensor.from(
          batches.flatMap((b) => b.toArray()),
          [batches.reduce((n, b) => n + b.shape[0]!, 0), cols],
        );
        const ref = refColumnStats(all);
        expect(s.count).toBe(ref.count);
        expectClose(s.sum, ref.sum, { rtol: 1e-12, atol: 1e-12 });
        expectClose(s.sumsq, ref.sumsq, { rtol: 1e-12, atol: 1e-12 });
        expectClose(s.mean(), ref.mean, { rtol: 1e-12, atol: 1e-12 });
        expectClose(s.variance(), ref.variance, { rtol: 1e-10, atol: 1e-12 });
        expectClose(
          s.std(false),
          ref.variance.map((v, _c) => Math.sqrt(ref.count > 1 ? (v * (ref.count - 1)) / ref.count : 0)),
          { rtol: 1e-10, atol: 1e-12 },
        );
      }),
      { numRuns: 60 },
    );
  });

  it('stays accurate for a large mean and small spread (Welford/Chan, not sumsq - sum^2)', () => {
    const s = new ColumnStats(1);
    for (let i = 0; i < 10; i++) s.update(Tensor.from([1e4 + 0.5, 1e4 - 0.5], [2, 1]));
    expectClose(s.variance(), [(20 * 0.25) / 19], { rtol: 1e-12 });
  });

  it('clones independently, reports NaN before data and checks shapes', () => {
    const s = new ColumnStats(3);
    expect(Number.isNaN(s.mean()[0])).toBe(true);
    s.update(randn([4, 3], 1));
    const c = s.clone();
    c.update(randn([4, 3], 2));
    expect(s.count).toBe(4);
    expect(c.count).toBe(8);
    expect(() => s.update(Tensor.zeros([2, 4]))).toThrow(/ColumnStats.update: shape mismatch \[2, 4\] vs \[3\]/);
    expect(() => s.merge(new ColumnStats(2))).toThrow(/ColumnStats.merge/);
  });
});

describe('accumulateXtX', () => {
  it('h += scale X^T X matches the triple loop, symmetric, for random shapes and views', () => {
    const arbCase = fc
      .tuple(fc.integer({ min: 1, max: 40 }), arbDim(70))
      .chain(([rows, n]) =>
        fc.tuple(arbAnyLayout([rows, n]), arbAnyLayout([rows + 3, n]), fc.double({ min: 0.1, max: 3, noNaN: true })),
      );
    fc.assert(
      fc.property(arbCase, ([x1, x2, scale]) => {
        const n = x1.shape[1]!;
        const h = new Float64Array(n * n);
        accumulateXtX(h, x1);
        accumulateXtX(h, x2, scale);
        const r1 = refXtX(x1);
        const r2 = refXtX(x2);
        const want = r1.map((v, i) => v + scale * r2[i]!);
        expectClose(h, want, { rtol: 1e-12, atol: 1e-10 });
      }),
      { numRuns: 50 },
    );
  });

  it('crosses the cache-tile boundaries (n > 1024 columns per tile, odd rows)', () => {
    const x = randn([7, 1061], 5);
    const h = accumulateXtX(new Float64Array(1061 * 1061), x, 0.5);
    expectClose(
      h,
      refXtX(x).map((v) => 0.5 * v),
      { rtol: 1e-12, atol: 1e-12 },
    );
  });

  it('rejects a wrongly sized accumulator', () => {
    expect(() => accumulateXtX(new Float64Array(8), Tensor.zeros([2, 3]))).toThrow(
      /accumulateXtX: h holds 8 values, x \[2, 3\] needs 3x3/,
    );
  });
});
