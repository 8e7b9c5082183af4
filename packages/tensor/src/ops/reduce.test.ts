import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refReduce } from '../kernels/reference.js';
import { Tensor } from '../tensor.js';
import { arbAnyLayout, arbShape, expectClose } from '../testing/index.js';
import { max, mean, sum, variance } from './reduce.js';

const arbCase = arbShape({ minRank: 1, maxRank: 4, maxDim: 13 }).chain((s) =>
  fc.tuple(arbAnyLayout(s, { std: 2, mean: 0.5 }), fc.integer({ min: -s.length, max: s.length - 1 }), fc.boolean()),
);

const refSum = (l: number[]) => l.reduce((s, v) => s + v, 0);
const refMean = (l: number[]) => refSum(l) / l.length;
const refVar = (unbiased: boolean) => (l: number[]) => {
  const m = refMean(l);
  const d = l.length - (unbiased ? 1 : 0);
  return d > 0 ? l.reduce((s, v) => s + (v - m) ** 2, 0) / d : Number.NaN;
};

describe('reductions along an axis', () => {
  it('sum, mean, max, variance match the reference (any axis, keepdim, strided views)', () => {
    fc.assert(
      fc.property(arbCase, ([x, axis, keepdim]) => {
        const o = { keepdim };
        expectClose(sum(x, axis, o), refReduce(x, axis, refSum, keepdim), { rtol: 1e-5, atol: 1e-5 });
        expectClose(mean(x, axis, o), refReduce(x, axis, refMean, keepdim), { rtol: 1e-5, atol: 1e-6 });
        expectClose(
          max(x, axis, o),
          refReduce(x, axis, (l) => Math.max(...l), keepdim),
          { rtol: 0, atol: 0 },
        );
        expectClose(variance(x, axis, o), refReduce(x, axis, refVar(true), keepdim), { rtol: 1e-5, atol: 1e-6 });
        expectClose(variance(x, axis, { keepdim, unbiased: false }), refReduce(x, axis, refVar(false), keepdim), {
          rtol: 1e-5,
          atol: 1e-6,
        });
      }),
      { numRuns: 80 },
    );
  });

  it('keeps the documented shapes and edge cases', () => {
    const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(sum(x, 1).shape).toEqual([2]);
    expect(sum(x, 0, { keepdim: true }).shape).toEqual([1, 3]);
    expectClose(sum(x, -1), [6, 15]);
    expectClose(variance(x, 1), [1, 1]);
    expect(Number.isNaN(variance(Tensor.from([3]), 0).data[0])).toBe(true);
    expect(Number.isNaN(max(Tensor.from([1, Number.NaN, 2]), 0).data[0])).toBe(true);
    expect(() => sum(x, 2)).toThrow(/sum: axis 2 out of range for 2-d tensor/);
    expect(() => max(Tensor.zeros([2, 0]), 1)).toThrow(/max: cannot take the max over an empty axis/);
  });
});
