import { getThreads, poolInfo, setThreads, shutdownPool, type Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sparsegpt } from './sparsegpt.js';
import { LayerStats } from './stats.js';

// A direct transcription of SPEC 7 with plain 2-D arrays, a Gauss-Jordan inverse and a textbook Cholesky.
function refSparsegpt(
  W0: number[][],
  H0: number[][],
  sparsity: number,
  nm: [number, number] | null,
  bs: number,
  update: boolean,
): number[][] {
  const n = H0.length;
  const W = W0.map((r) => [...r]);
  const H = H0.map((r) => [...r]);
  for (let j = 0; j < n; j++)
    if (H[j]![j] === 0) {
      H[j]![j] = 1;
      for (const r of W) r[j] = 0;
    }
  const damp = (0.01 * H.reduce((a, r, j) => a + r[j]!, 0)) / n;
  for (let j = 0; j < n; j++) H[j]![j]! += damp;
  // inverse
  const A = H.map((r, i) => [...r, ...r.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const p = A[c]![c]!;
    for (let k = 0; k < 2 * n; k++) A[c]![k]! /= p;
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = A[r]![c]!;
        for (let k = 0; k < 2 * n; k++) A[r]![k]! -= f * A[c]![k]!;
      }
  }
  const inv = A.map((r) => r.slice(n));
  // upper U with U^T U = inv
  const U = inv.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    let d = inv[i]![i]!;
    for (let k = 0; k < i; k++) d -= U[k]![i]! ** 2;
    U[i]![i] = Math.sqrt(d);
    for (let j = i + 1; j < n; j++) {
      let s = inv[i]![j]!;
      for (let k = 0; k < i; k++) s -= U[k]![i]! * U[k]![j]!;
      U[i]![j] = s / U[i]![i]!;
    }
  }
  for (let i1 = 0; i1 < n; i1 += bs) {
    const i2 = Math.min(i1 + bs, n);
    const mask = W.map(() => new Array<boolean>(n).fill(false));
    if (!nm) {
      const tmp: number[] = [];
      for (const r of W) for (let c = i1; c < i2; c++) tmp.push(r[c]! ** 2 / U[c]![c]! ** 2);
      const t = [...tmp].sort((a, b) => a - b)[Math.floor(tmp.length * sparsity)]!;
      W.forEach((r, ri) => {
        for (let c = i1; c < i2; c++) mask[ri]![c] = r[c]! ** 2 / U[c]![c]! ** 2 <= t;
      });
    }
    const err = W.map(() => new Array<number>(n).fill(0));
    for (let c = i1; c < i2; c++) {
      if (nm && (c - i1) % nm[1] === 0) {
        W.forEach((r, ri) => {
          const g = Array.from({ length: nm[1] }, (_, k) => [r[c + k]! ** 2 / U[c + k]![c + k]! ** 2, k] as const);
          g.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          for (let t = 0; t < nm[0]; t++) mask[ri]![c + g[t]![1]] = true;
        });
      }
      W.forEach((r, ri) => {
        if (!mask[ri]![c]) return;
        const e = r[c]! / U[c]![c]!;
        r[c] = 0;
        if (!update) return;
        err[ri]![c] = e;
        for (let k = c + 1; k < i2; k++) r[k]! -= e * U[c]![k]!;
      });
    }
    if (update)
      W.forEach((r, ri) => {
        for (let c = i1; c < i2; c++) for (let k = i2; k < n; k++) r[k]! -= err[ri]![c]! * U[c]![k]!;
      });
  }
  return W;
}

function setup(out: number, inp: number, seed: number, deadCol: number | null) {
  const w = randn([out, inp], seed);
  const st = new LayerStats(inp, { hessian: true });
  for (let s = 0; s < 3; s++) {
    const x = randn([inp + 4, inp], seed + 10 + s, 1, 0.5);
    if (deadCol !== null) for (let r = 0; r < inp + 4; r++) x.data[r * inp + deadCol] = 0;
    st.update(x);
  }
  const H = st.hessian();
  return { w, H, H2: Array.from({ length: inp }, (_, i) => Array.from(H.subarray(i * inp, (i + 1) * inp))) };
}

describe('sparsegpt', () => {
  const threads0 = getThreads();
  afterAll(async () => {
    setThreads(threads0);
    await shutdownPool();
  });

  it('matches a direct transcription of SPEC 7 (unstructured, N:M, noupdate, dead columns, small blocks)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(4, 8, 12),
        fc.constantFrom(null, [2, 4] as [number, number], [1, 4] as [number, number]),
        fc.constantFrom(0.3, 0.5, 0.7),
        fc.constantFrom(2, 4, 5, 128),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (out, inp, nm, s, bs, update, dead, seed) => {
          const { w, H, H2 } = setup(out, inp, seed, dead ? 1 : null);
          const W2 = Array.from({ length: out }, (_, i) => Array.from(w.data.subarray(i * inp, (i + 1) * inp)));
          const blocksize = nm ? Math.max(4, bs - (bs % 4)) : bs;
          const r = sparsegpt(w, H, {
            sparsity: nm ? undefined : s,
            pattern: nm ? { n: nm[0], m: nm[1] } : 'unstructured',
            blocksize,
            update,
          });
          const ref = refSparsegpt(W2, H2, s, nm, blocksize, update);
          for (let i = 0; i < out; i++) {
            for (let j = 0; j < inp; j++) {
              expect(r.weight.get(i, j)).toBeCloseTo(Math.fround(ref[i]![j]!), 4);
              if (r.mask[i * inp + j]) expect(r.weight.get(i, j)).toBe(0);
            }
          }
          if (nm) {
            for (let g = 0; g < out * inp; g += nm[1])
              expect(r.mask.subarray(g, g + nm[1]).reduce((a, b) => a + b, 0)).toBe(nm[0]);
          }
          if (dead) for (let i = 0; i < out; i++) expect(r.weight.get(i, 1)).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the OBS update lowers the reconstruction error of X W^T compared with no update', () => {
    const inp = 16;
    const out = 8;
    const w = randn([out, inp], 1);
    const st = new LayerStats(inp, { hessian: true });
    // correlated inputs make the update matter
    const z = randn([200, inp], 2);
    for (let r = 0; r < 200; r++)
      for (let j = 1; j < inp; j++) z.data[r * inp + j] = 0.7 * z.data[r * inp + j - 1]! + 0.3 * z.data[r * inp + j]!;
    st.update(z);
    const err = (w2: Tensor): number => {
      let e = 0;
      for (let r = 0; r < 200; r++)
        for (let i = 0; i < out; i++) {
          let d = 0;
          for (let j = 0; j < inp; j++) d += z.data[r * inp + j]! * (w.get(i, j) - w2.get(i, j));
          e += d * d;
        }
      return e;
    };
    const up = sparsegpt(w, st.hessian(), { sparsity: 0.5 });
    const no = sparsegpt(w, st.hessian(), { sparsity: 0.5, update: false });
    expect(err(up.weight)).toBeLessThan(0.8 * err(no.weight));
  });

  it('gives bit-identical weights and masks for 1 and 2 threads, float32 and float64 paths (the kernels really split)', () => {
    const rows = 200;
    const cols = 600;
    const w = randn([rows, cols], 3);
    const st = new LayerStats(cols, { hessian: true });
    st.update(randn([700, cols], 4));
    const h = st.hessian();
    for (const precision of ['float32', 'float64'] as const) {
      setThreads(1);
      const one = sparsegpt(w, h, { sparsity: 0.5, blocksize: 64, precision });
      setThreads(2);
      const before = poolInfo().parallelCalls;
      const two = sparsegpt(w, h, { sparsity: 0.5, blocksize: 64, precision });
      if (poolInfo().platform !== null) expect(poolInfo().parallelCalls).toBeGreaterThan(before);
      expect(Array.from(two.weight.data)).toEqual(Array.from(one.weight.data));
      expect(Array.from(two.mask)).toEqual(Array.from(one.mask));
    }
  });

  it('the float32 path agrees with the float64 path at a real-ish width (masks nearly all equal, weights close)', () => {
    const rows = 96;
    const cols = 384;
    const w = randn([rows, cols], 5);
    const st = new LayerStats(cols, { hessian: true });
    for (let s = 0; s < 2; s++) st.update(randn([300, cols], 6 + s, 0.3, 1));
    const h = st.hessian();
    const a = sparsegpt(w, h, { sparsity: 0.5, precision: 'float32' });
    const b = sparsegpt(w, h, { sparsity: 0.5, precision: 'float64' });
    let differ = 0;
    let worst = 0;
    let scale = 0;
    for (let k = 0; k < rows * cols; k++) {
      if (a.mask[k] !== b.mask[k]) differ++;
      else worst = Math.max(worst, Math.abs(a.weight.data[k]! - b.weight.data[k]!));
      scale = Math.max(scale, Math.abs(b.weight.data[k]!));
    }
    expect(differ).toBeLessThan(rows * cols * 1e-3);
    expect(worst / scale).toBeLessThan(1e-3);
  });

  it('checks its inputs', () => {
    const w = randn([2, 6], 1);
    expect(() => sparsegpt(w, new Float64Array(4), { sparsity: 0.5, layerName: 'fc1' })).toThrow(
      /Hessian has 4 entries, need 6x6 \(layer fc1\)/,
    );
    expect(() => sparsegpt(w, new Float64Array(36), { pattern: '2:4', layerName: 'fc1' })).toThrow(
      /multiple of 4, got 6/,
    );
  });
});
