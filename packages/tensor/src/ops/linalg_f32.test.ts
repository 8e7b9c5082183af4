import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, setThreads } from '../config.js';
import { poolInfo, shutdownPool } from '../parallel/pool.js';
import { allocF32 } from '../storage.js';
import { simdSupported } from '../wasm/runtime.js';
import { choleskyF32InPlace, reversedLowerInverseF32, SweepWorkspace, sweepBlock } from './linalg_f32.js';

function rand(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  return Float64Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 31 - 1;
  });
}

/** G G^T / k + I (symmetric positive definite, well conditioned), float64 [n, n]. */
function spd(n: number, seed: number): Float64Array {
  const k = 8;
  const g = rand(n * k, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = i === j ? 1 : 0;
      for (let t = 0; t < k; t++) s += (g[i * k + t]! * g[j * k + t]!) / k;
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  return a;
}

/** Textbook float64 Cholesky (the naive reference). */
function naiveCholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]!;
    for (let k = 0; k < j; k++) s -= l[j * n + k]! ** 2;
    l[j * n + j] = Math.sqrt(s);
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let k = 0; k < j; k++) t -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = t / l[j * n + j]!;
    }
  }
  return l;
}

/** Naive float64 inverse of a lower-triangular matrix by forward substitution. */
function naiveLowerInverse(l: ArrayLike<number>, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let c = 0; c < n; c++)
    for (let i = c; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= l[i * n + k]! * m[k * n + c]!;
      m[i * n + c] = s / l[i * n + i]!;
    }
  return m;
}

const sizes = fc.constantFrom(1, 3, 8, 17, 64, 65, 127, 129, 200, 260);

describe.runIf(simdSupported())('float32 SIMD linear algebra', () => {
  const threads0 = getThreads();
  afterAll(async () => {
    setThreads(threads0);
    await shutdownPool();
  });

  it('choleskyF32InPlace agrees with a textbook float64 Cholesky (lower triangle; upper untouched)', () => {
    fc.assert(
      fc.property(sizes, fc.integer(), (n, seed) => {
        const a = spd(n, seed);
        const f = allocF32(n * n);
        for (let k = 0; k < n * n; k++) f[k] = a[k]!;
        const upper = Float32Array.from(f);
        expect(choleskyF32InPlace(f, n)).toBe(-1);
        const ref = naiveCholesky(a, n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            if (j > i) expect(f[i * n + j]).toBe(upper[i * n + j]);
            else expect(Math.abs(f[i * n + j]! - ref[i * n + j]!)).toBeLessThan(2e-5);
          }
      }),
      { numRuns: 20 },
    );
  });

  it('choleskyF32InPlace reports the first non-positive pivot', () => {
    const n = 150;
    const a = spd(n, 5);
    const f = allocF32(n * n);
    for (let k = 0; k < n * n; k++) f[k] = a[k]!;
    f[140 * n + 140] = -1;
    expect(choleskyF32InPlace(f, n)).toBe(140);
  });

  it('reversedLowerInverseF32 gives P L^-1 P (naive forward substitution reference)', () => {
    fc.assert(
      fc.property(sizes, fc.integer(), fc.boolean(), (n, seed, inPlace) => {
        const l = naiveCholesky(spd(n, seed), n);
        const f = allocF32(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) f[i * n + j] = l[i * n + j]!;
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) f[i * n + j] = 7; // upper triangle is ignored
        const m = naiveLowerInverse(f, n);
        const u = reversedLowerInverseF32(f, n, inPlace ? f : undefined);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            const want = j < i ? 0 : m[(n - 1 - i) * n + (n - 1 - j)]!;
            expect(Math.abs(u[i * n + j]! - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
          }
      }),
      { numRuns: 16 },
    );
  });

  it('sweepBlock matches a float32 transcription of the masked sweep and lazy update (bit for bit)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.constantFrom(5, 12, 40, 130),
        fc.constantFrom(4, 7, 16, 128),
        fc.constantFrom(0, 2, 4),
        fc.boolean(),
        fc.integer(),
        (rows, cols, bs, nmM, update, seed) => {
          const m = nmM > 0 && bs % nmM === 0 && cols % nmM === 0 ? nmM : 0;
          const u = allocF32(cols * cols);
          const rv = rand(cols * cols, seed);
          for (let i = 0; i < cols; i++)
            for (let j = i; j < cols; j++)
              u[i * cols + j] = i === j ? 0.5 + Math.abs(rv[i * cols + j]!) : rv[i * cols + j]! * 0.3;
          const w = allocF32(rows * cols);
          w.set(rand(rows * cols, seed + 1));
          const ref = Float32Array.from(w);
          const mask = new Uint8Array(allocF32(Math.ceil((rows * cols) / 4)).buffer, 0, rows * cols);
          const refMask = new Uint8Array(rows * cols);
          const ws = new SweepWorkspace(cols, bs);
          const f = Math.fround;
          for (let i1 = 0; i1 < cols; i1 += bs) {
            const count = Math.min(bs, cols - i1);
            const dg = (c: number) => u[(i1 + c) * cols + i1 + c]!;
            // threshold: the median of the block's w^2 / d^2 (any value works for the comparison)
            const vals: number[] = [];
            for (let r = 0; r < rows; r++)
              for (let c = 0; c < count; c++) vals.push(ref[r * cols + i1 + c]! ** 2 / dg(c) ** 2);
            const thresh = vals.sort((a, b) => a - b)[Math.floor(vals.length / 2)]!;
            sweepBlock(w, rows, u, mask, i1, count, { thresh, n: m ? m / 2 : 0, m, update }, ws);
            for (let r = 0; r < rows; r++) {
              const o = r * cols;
              const err = new Float32Array(count);
              const mk = refMask.subarray(o + i1, o + i1 + count);
              if (!m) for (let c = 0; c < count; c++) mk[c] = ref[o + i1 + c]! ** 2 / dg(c) ** 2 <= thresh ? 1 : 0;
              for (let c = 0; c < count; c++) {
                if (m && c % m === 0) {
                  const g = Array.from(
                    { length: m },
                    (_, k) => [ref[o + i1 + c + k]! ** 2 / dg(c + k) ** 2, k] as const,
                  );
                  g.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
                  for (let t = 0; t < m / 2; t++) mk[c + g[t]![1]] = 1;
                }
                if (!mk[c]) continue;
                const x = ref[o + i1 + c]!;
                ref[o + i1 + c] = 0;
                if (!update) continue;
                const e = f(x / dg(c));
                err[c] = e;
                for (let k = c + 1; k < count; k++)
                  ref[o + i1 + k] = f(ref[o + i1 + k]! - f(e * u[(i1 + c) * cols + i1 + k]!));
              }
              if (update)
                for (let j = i1 + count; j < cols; j++) {
                  let s = 0;
                  for (let t = 0; t < count; t++) s = f(s + f(err[t]! * u[(i1 + t) * cols + j]!));
                  ref[o + j] = f(ref[o + j]! - s);
                }
            }
          }
          expect(Array.from(mask)).toEqual(Array.from(refMask));
          expect(Array.from(w)).toEqual(Array.from(ref));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('gives bit-identical results for 1 and 2 threads (the kernels really split)', () => {
    const n = 700;
    const a = spd(n, 9);
    const run = (t: number) => {
      setThreads(t);
      const f = allocF32(n * n);
      for (let k = 0; k < n * n; k++) f[k] = a[k]!;
      expect(choleskyF32InPlace(f, n)).toBe(-1);
      const u = reversedLowerInverseF32(f, n);
      const rows = 300;
      const w = allocF32(rows * n);
      w.set(rand(rows * n, 3));
      const mask = new Uint8Array(allocF32(Math.ceil((rows * n) / 4)).buffer, 0, rows * n);
      const ws = new SweepWorkspace(n, 128);
      for (let i1 = 0; i1 < n; i1 += 128)
        sweepBlock(w, rows, u, mask, i1, Math.min(128, n - i1), { thresh: 0.5, n: 0, m: 0, update: true }, ws);
      return { f: Array.from(f), u: Array.from(u), w: Array.from(w), mask: Array.from(mask) };
    };
    const one = run(1);
    const before = poolInfo().parallelCalls;
    const two = run(2);
    if (poolInfo().platform !== null) expect(poolInfo().parallelCalls).toBeGreaterThan(before + 3);
    expect(two.f).toEqual(one.f);
    expect(two.u).toEqual(one.u);
    expect(two.w).toEqual(one.w);
    expect(two.mask).toEqual(one.mask);
  });
});
