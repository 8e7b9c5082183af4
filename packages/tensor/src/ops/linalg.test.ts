import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, setThreads } from '../config.js';
import { lowerInverseCols } from '../kernels/linalg.js';
import { refMatmulF64, refTransposeF64 } from '../kernels/reference.js';
import { poolInfo, shutdownPool } from '../parallel/pool.js';
import { allocF64 } from '../storage.js';
import { arbDim, expectClose, mulberry32 } from '../testing/index.js';
import {
  cholesky,
  choleskyInPlace,
  choleskyInverse,
  choleskyUpper,
  lowerTriangularInverse,
  solveTriangular,
  subtractProduct,
} from './linalg.js';

/** A random symmetric positive definite matrix B B^T + ridge I (float64). */
function spd(n: number, seed: number, ridge = 0.1): Float64Array {
  const r = mulberry32(seed);
  const b = Float64Array.from({ length: n * n }, () => r() * 2 - 1);
  const a = refMatmulF64(b, refTransposeF64(b, n, n), n, n, n);
  for (let i = 0; i < n; i++) a[i * n + i] += ridge * n;
  return a;
}

const eye = (n: number) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
const arbCase = fc.tuple(arbDim(37), fc.integer({ min: 0, max: 1e9 }));

describe('cholesky', () => {
  it('L is lower triangular with L L^T = A; U = L^T with U^T U = A', () => {
    fc.assert(
      fc.property(arbCase, ([n, seed]) => {
        const a = spd(n, seed);
        const L = cholesky(a, n);
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(L[i * n + j]).toBe(0);
        expectClose(refMatmulF64(L, refTransposeF64(L, n, n), n, n, n), a, { rtol: 1e-10, atol: 1e-10 });
        const U = choleskyUpper(a, n);
        expectClose(U, refTransposeF64(L, n, n), { rtol: 0, atol: 0 });
        expectClose(refMatmulF64(refTransposeF64(U, n, n), U, n, n, n), a, { rtol: 1e-10, atol: 1e-10 });
      }),
      { numRuns: 40 },
    );
  });

  it('matches a worked example', () => {
    const L = cholesky(Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]), 3);
    expectClose(L, [2, 0, 0, 6, 1, 0, -8, 5, 3], { rtol: 1e-15, atol: 0 });
  });

  it('rejects matrices that are not positive definite, naming the pivot', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(
      /cholesky: matrix is not positive definite \(pivot 1 of 2 is -3\)/,
    );
    expect(() => cholesky(Float64Array.from([0]), 1)).toThrow(/pivot 0/);
    expect(() => cholesky(Float64Array.from([Number.NaN]), 1)).toThrow(/not positive definite/);
    expect(() => cholesky(new Float64Array(5), 2)).toThrow(/cholesky: matrix holds 5 values, expected 2x2/);
  });
});

describe('choleskyInverse', () => {
  it('gives the symmetric inverse: A^-1 A = I', () => {
    fc.assert(
      fc.property(arbCase, ([n, seed]) => {
        const a = spd(n, seed);
        const inv = choleskyInverse(cholesky(a, n), n);
        expectClose(refMatmulF64(inv, a, n, n, n), eye(n), { rtol: 0, atol: 1e-9 });
        expectClose(inv, refTransposeF64(inv, n, n), { rtol: 0, atol: 0 });
      }),
      { numRuns: 40 },
    );
  });
});

/** Naive Cholesky-Banachiewicz: the reference for the blocked kernel. */
function refCholesky(a: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = i === j ? Math.sqrt(s) : s / L[j * n + j]!;
    }
  }
  return L;
}

// Orders crossing the kernels' 64-row blocks and 256-column chunks.
const arbBig = fc.tuple(fc.constantFrom(63, 65, 130, 257, 301), fc.integer({ min: 0, max: 1e9 }));

describe('blocked kernels across block boundaries', () => {
  it('cholesky matches the naive reference; choleskyInPlace leaves the upper triangle alone', () => {
    fc.assert(
      fc.property(arbBig, ([n, seed]) => {
        const a = spd(n, seed);
        const L = cholesky(a, n);
        expectClose(L, refCholesky(a, n), { rtol: 1e-11, atol: 1e-11 });
        const l = Float64Array.from(a);
        expect(choleskyInPlace(l, n)).toBe(-1);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) expect(l[i * n + j]).toBe(j > i ? a[i * n + j] : L[i * n + j]);
        }
      }),
      { numRuns: 6 },
    );
  });

  it('lowerTriangularInverse gives L^-1 (L M = I), bit-identical for any column split', () => {
    fc.assert(
      fc.property(arbBig, fc.integer({ min: 1, max: 300 }), ([n, seed], cut) => {
        const L = cholesky(spd(n, seed), n);
        const M = lowerTriangularInverse(L, n);
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(M[i * n + j]).toBe(0);
        expectClose(refMatmulF64(L, M, n, n, n), eye(n), { rtol: 0, atol: 1e-9 });
        const c = Math.min(cut, n);
        const m2 = new Float64Array(n * n);
        lowerInverseCols({ l: L, m: m2, n }, c, n);
        lowerInverseCols({ l: L, m: m2, n }, 0, c);
        expect(m2).toEqual(M);
      }),
      { numRuns: 6 },
    );
  });

  it('choleskyInPlace reports the failing pivot and its value; lowerTriangularInverse rejects singular L', () => {
    const l = Float64Array.from([4, 0, 0, 2, 2, 0, 0, 0, -2]);
    expect(choleskyInPlace(l, 3)).toBe(2);
    expect(l[8]).toBe(-2);
    expect(() => lowerTriangularInverse(Float64Array.from([1, 0, 3, 0]), 2)).toThrow(
      /lowerTriangularInverse: matrix is singular \(diagonal 1 is 0\)/,
    );
  });
});

describe('solveTriangular', () => {
  it('solves T x = b and T^T x = b for lower and upper T, vector and matrix right-hand sides', () => {
    fc.assert(
      fc.property(
        arbCase,
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.boolean(),
        ([n, seed], m, lower, transpose) => {
          const L = cholesky(spd(n, seed), n);
          const T = lower ? L : refTransposeF64(L, n, n);
          // Fill the unused triangle with junk: the solver must not read it.
          const Tj = Float64Array.from(T, (v, idx) => {
            const i = Math.floor(idx / n);
            const j = idx % n;
            return (lower ? j > i : j < i) ? 1e3 + idx : v;
          });
          const r = mulberry32(seed + 1);
          const b = Float64Array.from({ length: n * m }, () => r() - 0.5);
          const x = solveTriangular(Tj, b, n, { lower, transpose });
          const E = transpose ? refTransposeF64(T, n, n) : T;
          expectClose(refMatmulF64(E, x, n, n, m), b, { rtol: 0, atol: 1e-9 });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects bad right-hand sides and singular matrices', () => {
    expect(() => solveTriangular(new Float64Array(4), [1, 2, 3], 2)).toThrow(
      /solveTriangular: right-hand side of 3 values does not fit 2 rows/,
    );
    expect(() => solveTriangular(Float64Array.from([1, 0, 0, 0]), [1, 1], 2)).toThrow(/singular \(diagonal 1 is 0\)/);
  });
});

/** C - A B[bRow0 .., colStart:colEnd], naively. */
function refSubProduct(
  c: Float64Array,
  ldc: number,
  a: Float64Array,
  k: number,
  b: Float64Array,
  ldb: number,
  bRow0: number,
  colStart: number,
  colEnd: number,
  rows: number,
): Float64Array {
  const out = Float64Array.from(c);
  for (let r = 0; r < rows; r++) {
    for (let j = colStart; j < colEnd; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[r * k + t]! * b[(bRow0 + t) * ldb + j]!;
      out[r * ldc + j]! -= s;
    }
  }
  return out;
}

function subCase(rows: number, k: number, ldc: number, seed: number, zeroFrac = 0.3) {
  const r = mulberry32(seed);
  const c = allocF64(rows * ldc);
  for (let i = 0; i < c.length; i++) c[i] = r() - 0.5;
  const a = allocF64(rows * k);
  for (let i = 0; i < a.length; i++) a[i] = r() < zeroFrac ? 0 : r() - 0.5;
  const bRow0 = Math.floor(r() * 3);
  const ldb = ldc;
  const b = allocF64((bRow0 + k) * ldb);
  for (let i = 0; i < b.length; i++) b[i] = r() - 0.5;
  const colStart = Math.floor(r() * ldc);
  const colEnd = colStart + Math.floor(r() * (ldc - colStart + 1));
  return { c, ldc, a, k, b, ldb, bRow0, colStart, colEnd };
}

describe('subtractProduct', () => {
  it('matches the naive C - A B on random shapes (sparse A, column ranges)', () => {
    fc.assert(
      fc.property(arbDim(19), arbDim(13), arbDim(37), fc.integer({ min: 0, max: 1e9 }), (rows, k, ldc, seed) => {
        const args = subCase(rows, k, ldc, seed);
        const want = refSubProduct(
          args.c,
          ldc,
          args.a,
          k,
          args.b,
          args.ldb,
          args.bRow0,
          args.colStart,
          args.colEnd,
          rows,
        );
        subtractProduct(args, rows);
        expectClose(args.c, want, { rtol: 1e-12, atol: 1e-12 });
      }),
      { numRuns: 60 },
    );
    expect(() => subtractProduct({ ...subCase(2, 2, 3, 1), colStart: 2, colEnd: 4 }, 2)).toThrow(
      /subtractProduct: C \[2, 3\] \/ A \[2, 2\] do not fit columns 2..4/,
    );
  });
});

describe('linalg on the pool', () => {
  const threads0 = getThreads();
  afterAll(async () => {
    setThreads(threads0);
    await shutdownPool();
  });

  it('lowerTriangularInverse and subtractProduct give identical results for 1 and 2 threads, really split', () => {
    const n = 301;
    const L = cholesky(spd(n, 5), n);
    const base = subCase(211, 29, 700, 9, 0.2);
    const run = () => {
      const args = { ...base, c: allocF64(base.c.length), colStart: 40, colEnd: 700 };
      args.c.set(base.c);
      subtractProduct(args, 211);
      return { m: lowerTriangularInverse(L, n), c: args.c };
    };
    setThreads(1);
    const one = run();
    setThreads(2);
    const before = poolInfo().parallelCalls;
    const two = run();
    if (poolInfo().platform !== null) expect(poolInfo().parallelCalls).toBe(before + 2);
    expect(two.m).toEqual(one.m);
    expect(two.c).toEqual(one.c);
  });
});
