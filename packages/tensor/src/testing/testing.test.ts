import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refValues } from '../kernels/reference.js';
import { broadcastShapes } from '../layout.js';
import { Tensor } from '../tensor.js';
import {
  arbBroadcastShapes,
  arbShape,
  arbStridedView,
  arbTensor,
  expectClose,
  mulberry32,
  randn,
  stridedView,
} from './index.js';

describe('expectClose', () => {
  it('accepts values within atol + rtol * |expected|', () => {
    expectClose([1, 2, 3], [1 + 1e-7, 2, 3 - 2e-6], { rtol: 1e-6, atol: 0 });
    expectClose(Tensor.from([Number.NaN, Infinity, -Infinity]), [Number.NaN, Infinity, -Infinity]);
  });

  it('reports the worst index, values and shapes', () => {
    const a = Tensor.from([0, 0, 0, 0, 0, 0], [2, 3]);
    const e = Tensor.from([0, 0.1, 0, 0, 0.5, 0], [2, 3]);
    expect(() => expectClose(a, e, { atol: 1e-3 })).toThrow(
      /2 of 6 elements differ.*index 4 \[1, 1\]: actual 0 vs expected 0\.5.*\[2, 3\]/,
    );
  });

  it('fails on NaN or Inf mismatches even with huge tolerances', () => {
    expect(() => expectClose([Number.NaN], [1], { atol: 1e30 })).toThrow(/NaN\/Inf mismatch at index 0/);
    expect(() => expectClose([1], [Number.NaN], { atol: 1e30 })).toThrow(/NaN/);
    expect(() => expectClose([Infinity], [-Infinity], { atol: 1e30 })).toThrow(/mismatch/);
    expect(() => expectClose([1e30], [Infinity], { rtol: 1 })).toThrow(/mismatch/);
  });

  it('fails on shape and length mismatches', () => {
    expect(() => expectClose(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]))).toThrow(/shape mismatch.*\[2, 3\].*\[3, 2\]/);
    expect(() => expectClose([1, 2], [1])).toThrow(/length mismatch/);
  });
});

describe('seeded generators', () => {
  it('mulberry32 is deterministic and uniform-ish', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    let s = 0;
    let bad = 0;
    for (let i = 0; i < 10000; i++) {
      const x = a();
      if (x !== b() || !(x >= 0 && x < 1)) bad++;
      s += x;
    }
    expect(bad).toBe(0);
    expect(Math.abs(s / 10000 - 0.5)).toBeLessThan(0.02);
  });

  it('randn has mean ~0 and variance ~1', () => {
    const t = randn([10001], 7);
    const v = t.data;
    let m = 0;
    for (const x of v) m += x;
    m /= v.length;
    let q = 0;
    for (const x of v) q += (x - m) ** 2;
    expect(Math.abs(m)).toBeLessThan(0.05);
    expect(Math.abs(q / v.length - 1)).toBeLessThan(0.05);
    expectClose(randn([5], 3), randn([5], 3), { atol: 0, rtol: 0 });
  });
});

describe('arbitraries', () => {
  it('arbStridedView produces views of the requested shape over a bigger buffer', () => {
    fc.assert(
      fc.property(
        arbShape({ maxRank: 4 }).chain((s) => fc.tuple(fc.constant(s), arbStridedView(s))),
        ([s, v]) => {
          expect(v.shape).toEqual(s);
          // Every element reachable without going out of bounds, and the copy matches element-wise reads.
          expectClose(v.clone().data, refValues(v), { atol: 0, rtol: 0 });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('stridedView lays out permuted, padded and stepped views exactly', () => {
    // View [3, 4] whose axis 1 is stored outermost (perm [1, 0]), axis 0 read with step 2 from offset 1.
    const v = stridedView([3, 4], { perm: [1, 0], pad: [1, 0], start: [1, 0], step: [2, 1] }, 7);
    // Base shape (stored order) [4, (3-1)*2+1+1] = [4, 6]: strides of the view are [2, 6], offset 1.
    expect(v.strides).toEqual([2, 6]);
    expect(v.offset).toBe(1);
    expect(v.data.length).toBe(24);
    expect(v.get(2, 3)).toBe(v.data[1 + 2 * 2 + 3 * 6]);
  });

  it('arbStridedView is usually not contiguous', () => {
    const views = fc.sample(arbStridedView(fc.constant([3, 4, 5])), 50);
    expect(views.filter((v) => !v.contiguous).length).toBeGreaterThan(25);
  });

  it('arbTensor honours fixed shapes and arbBroadcastShapes broadcasts', () => {
    fc.assert(
      fc.property(arbTensor([2, 7]), arbBroadcastShapes(), (t, [a, b]) => {
        expect(t.shape).toEqual([2, 7]);
        expect(t.contiguous).toBe(true);
        expect(() => broadcastShapes(a, b)).not.toThrow();
      }),
      { numRuns: 50 },
    );
  });
});
