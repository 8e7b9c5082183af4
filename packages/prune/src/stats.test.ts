import { getThreads, setThreads, Tensor } from '@stade/tensor';
import { randn, stridedView } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HESSIAN_GEMM_MIN_COLS, LayerStats, StatsCollector } from './stats.js';

/** Naive float64 two-pass statistics over all rows of all sequences. */
function naive(seqs: Tensor[]) {
  const cols = seqs[0]!.shape[1]!;
  const rows = seqs.flatMap((t) =>
    Array.from({ length: t.shape[0]! }, (_, r) => Array.from({ length: cols }, (_, j) => t.get(r, j))),
  );
  const N = rows.length;
  const mean = Array.from({ length: cols }, (_, j) => rows.reduce((a, r) => a + r[j]!, 0) / N);
  const variance = mean.map((m, j) => rows.reduce((a, r) => a + (r[j]! - m) ** 2, 0) / (N - 1));
  const sumsq = Array.from({ length: cols }, (_, j) => rows.reduce((a, r) => a + r[j]! ** 2, 0));
  const H = Array.from(
    { length: cols * cols },
    (_, k) => (2 / seqs.length) * rows.reduce((a, r) => a + r[Math.floor(k / cols)]! * r[k % cols]!, 0),
  );
  return { N, mean, variance, scaler: sumsq.map((s) => s / seqs.length), H };
}

describe('LayerStats', () => {
  it('mean, unbiased variance, scaler and Hessian match a two-pass float64 reference (strided inputs too)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom(1, 2, 3, 7, 11),
        fc.integer(),
        fc.boolean(),
        (lens, cols, seed, transposed) => {
          const seqs = lens.map((t, k) => {
            const base = randn(transposed ? [cols, t] : [t, cols], seed + k, 2, 3);
            return transposed ? base.transpose() : base;
          });
          const st = new LayerStats(cols, { hessian: true });
          for (const s of seqs) st.update(s);
          const ref = naive(seqs);
          expect(st.tokens).toBe(ref.N);
          expect(st.sequences).toBe(seqs.length);
          const m = st.mean();
          const v = st.variance();
          const sc = st.scaler();
          const H = st.hessian();
          for (let j = 0; j < cols; j++) {
            expect(m[j]).toBeCloseTo(ref.mean[j]!, 9);
            if (ref.N > 1) expect(v[j]).toBeCloseTo(ref.variance[j]!, 8);
            expect(sc[j]).toBeCloseTo(ref.scaler[j]!, 8);
          }
          for (let k = 0; k < cols * cols; k++) expect(H[k]).toBeCloseTo(ref.H[k]!, 7);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('merge equals sequential accumulation', () => {
    const a = new LayerStats(4, { hessian: true });
    const b = new LayerStats(4, { hessian: true });
    const all = new LayerStats(4, { hessian: true });
    const xs = [randn([5, 4], 1, 1, 100), randn([3, 4], 2, 0.01, -7), randn([6, 4], 3)];
    a.update(xs[0]!);
    b.update(xs[1]!);
    b.update(xs[2]!);
    for (const x of xs) all.update(x);
    a.merge(b);
    expect(a.tokens).toBe(14);
    expect(a.sequences).toBe(3);
    for (let j = 0; j < 4; j++) {
      expect(a.mean()[j]).toBeCloseTo(all.mean()[j]!, 10);
      expect(a.variance()[j]).toBeCloseTo(all.variance()[j]!, 8);
    }
    const ha = a.hessian();
    const hall = all.hessian();
    for (let k = 0; k < 16; k++) expect(ha[k]).toBeCloseTo(hall[k]!, 8);
  });

  it('wide layers: the float32 matmul path gives the float64 Hessian to float32 accuracy, symmetric, any strides', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(HESSIAN_GEMM_MIN_COLS, 300, 390),
        fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 3 }),
        fc.integer(),
        fc.boolean(),
        (cols, lens, seed, transposed) => {
          const seqs = lens.map((t, k) => {
            const base = randn(transposed ? [cols, t] : [t, cols], seed + k, 1, 0.5);
            return transposed ? base.transpose() : base;
          });
          const st = new LayerStats(cols, { hessian: true });
          for (const x of seqs) st.update(x);
          const H = st.hessian();
          const ref = new Float64Array(cols * cols);
          for (const x of seqs) {
            const v = x.values();
            const t = x.shape[0]!;
            for (let r = 0; r < t; r++)
              for (let i = 0; i < cols; i++) {
                const a = v[r * cols + i]!;
                for (let j = 0; j < cols; j++) ref[i * cols + j]! += (2 / seqs.length) * a * v[r * cols + j]!;
              }
          }
          let scale = 0;
          for (const r of ref) scale = Math.max(scale, Math.abs(r));
          let asym = 0;
          let err = 0;
          for (let i = 0; i < cols; i++)
            for (let j = 0; j < cols; j++) {
              asym = Math.max(asym, Math.abs(H[i * cols + j]! - H[j * cols + i]!));
              err = Math.max(err, Math.abs(H[i * cols + j]! - ref[i * cols + j]!));
            }
          expect(asym).toBe(0);
          expect(err).toBeLessThan(1e-5 * scale);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('wide layers: the same Hessian bits with 1 and 2 threads', () => {
    const t0 = getThreads();
    const x = randn([300, 700], 4);
    const run = (t: number) => {
      setThreads(t);
      const st = new LayerStats(700, { hessian: true });
      st.update(x);
      return Array.from(st.hessian());
    };
    const one = run(1);
    const two = run(2);
    setThreads(t0);
    expect(two).toEqual(one);
  });

  it('finalHessian gives the same H in place (narrow and wide layers), shared by later calls; then no more updates', () => {
    for (const cols of [5, HESSIAN_GEMM_MIN_COLS + 3]) {
      const st = new LayerStats(cols, { hessian: true });
      st.update(randn([20, cols], 1));
      st.update(randn([9, cols], 2));
      const copy = st.hessian();
      const fin = st.finalHessian();
      expect(Array.from(fin)).toEqual(Array.from(copy));
      expect(st.finalHessian()).toBe(fin);
      expect(Array.from(st.hessian())).toEqual(Array.from(copy));
      expect(() => st.update(randn([2, cols], 3))).toThrow(/finalised in place/);
      expect(() => new LayerStats(cols, { hessian: true }).merge(st)).toThrow(/finalised in place/);
    }
  });

  it('keeps the variance accurate for a large offset (stable merge)', () => {
    const st = new LayerStats(1);
    for (let s = 0; s < 50; s++) st.update(Tensor.from([16e6 + 1, 16e6 - 1, 16e6 + 1, 16e6 - 1], [4, 1]));
    expect(st.variance()[0]).toBeCloseTo(200 / 199, 9);
  });

  it('rejects mis-shaped inputs and a missing Hessian', () => {
    const st = new LayerStats(3);
    expect(() => st.update(Tensor.zeros([2, 4]))).toThrow(/expected \[tokens, 3\], got \[2, 4\]/);
    expect(() => st.hessian()).toThrow(/without a Hessian/);
  });
});

describe('StatsCollector', () => {
  it('shares one accumulator between layers fed the same tensor and keeps others separate', () => {
    const c = new StatsCollector({ hessian: true });
    for (let s = 0; s < 3; s++) {
      const x = randn([4, 3], s);
      const y = randn([4, 3], s + 10);
      c.tap('q', x);
      c.tap('k', x);
      c.tap('v', x);
      c.tap('o', y);
    }
    expect(c.get('q')).toBe(c.get('k'));
    expect(c.get('k')).toBe(c.get('v'));
    expect(c.get('o')).not.toBe(c.get('q'));
    expect(c.get('q').sequences).toBe(3);
    expect(c.get('q').tokens).toBe(12);
    expect(() => c.get('nope')).toThrow(/no statistics for layer nope/);
  });

  it('gives the same statistics for a strided view as for its contiguous copy', () => {
    const view = stridedView([5, 3], { perm: [1, 0], pad: [1, 2], start: [1, 0], step: [2, 1] }, 7);
    const a = new StatsCollector({ hessian: true });
    const b = new StatsCollector({ hessian: true });
    a.tap('x', view);
    b.tap('x', view.clone());
    expect(Array.from(a.get('x').variance())).toEqual(Array.from(b.get('x').variance()));
    expect(Array.from(a.get('x').hessian())).toEqual(Array.from(b.get('x').hessian()));
  });
});
