import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refArgsortRows, refKthSmallest } from '../kernels/reference.js';
import { quickselect } from '../kernels/select.js';
import { Tensor } from '../tensor.js';
import { arbAnyLayout, arbDim, expectClose } from '../testing/index.js';
import { argsortRows, kthSmallestPerRow } from './select.js';

/** Rows with many ties, signed zeros, infinities and NaN besides normal values. */
const arbRowsWithTies = fc.tuple(arbDim(9), arbDim(70)).chain(([rows, cols]) =>
  fc
    .array(fc.oneof(fc.constantFrom(0, -0, 1, -1, 2.5, Infinity, -Infinity, Number.NaN), fc.float({ noNaN: true })), {
      minLength: rows * cols,
      maxLength: rows * cols,
    })
    .map((v) => Tensor.from(v, [rows, cols])),
);

describe('kthSmallestPerRow', () => {
  it('matches a full sort on random rows and views, for every k', () => {
    const arbCase = fc
      .tuple(arbDim(11), arbDim(131))
      .chain(([r, c]) => fc.tuple(arbAnyLayout([r, c]), fc.integer({ min: 0, max: c - 1 })));
    fc.assert(
      fc.property(arbCase, ([x, k]) => {
        const before = x.clone();
        expectClose(kthSmallestPerRow(x, k), refKthSmallest(x, k), { rtol: 0, atol: 0 });
        expectClose(x.clone(), before, { rtol: 0, atol: 0 }); // input untouched
      }),
      { numRuns: 80 },
    );
  });

  it('handles ties, infinities and NaN', () => {
    fc.assert(
      fc.property(arbRowsWithTies, fc.nat(), (x, kk) => {
        const k = kk % x.shape[1]!;
        expectClose(kthSmallestPerRow(x, k), refKthSmallest(x, k), { rtol: 0, atol: 0 });
      }),
      { numRuns: 80 },
    );
  });

  it('quickselect survives adversarial orders (sorted, reversed, all equal, organ pipe)', () => {
    const n = 5000;
    const inputs = [
      Float32Array.from({ length: n }, (_, i) => i),
      Float32Array.from({ length: n }, (_, i) => n - i),
      new Float32Array(n).fill(3),
      Float32Array.from({ length: n }, (_, i) => Math.min(i, n - i)),
    ];
    for (const a of inputs) {
      const sorted = Float32Array.from(a).sort();
      for (const k of [0, 1, n >> 1, n - 1]) expect(quickselect(Float32Array.from(a), n, k)).toBe(sorted[k]);
    }
  });

  it('validates k and rank', () => {
    expect(() => kthSmallestPerRow(Tensor.zeros([2, 3]), 3)).toThrow(
      /kthSmallestPerRow: k = 3 out of range for rows of 3 values/,
    );
    expect(() => kthSmallestPerRow(Tensor.zeros([6]), 0)).toThrow(/must be \[rows, cols\], got \[6\]/);
  });
});

describe('argsortRows', () => {
  it('is a stable ascending sort (matches insertion sort) on random rows and views', () => {
    fc.assert(
      fc.property(
        fc.tuple(arbDim(11), arbDim(131)).chain(([r, c]) => arbAnyLayout([r, c])),
        (x) => {
          expect(Array.from(argsortRows(x))).toEqual(Array.from(refArgsortRows(x)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps equal values (including 0 and -0) in index order; NaN last', () => {
    fc.assert(
      fc.property(arbRowsWithTies, (x) => {
        expect(Array.from(argsortRows(x))).toEqual(Array.from(refArgsortRows(x)));
      }),
      { numRuns: 80 },
    );
    expect(Array.from(argsortRows(Tensor.from([0, -0, Number.NaN, -1, 0], [1, 5])))).toEqual([3, 0, 1, 4, 2]);
  });
});
