/**
 * Dense linear algebra in float64 on row-major `Float64Array` matrices of order `n` (SparseGPT's Hessian
 * work): Cholesky factorisation, inverse from the factor, triangular solves.
 */
import { TensorError } from '../errors.js';
import { choleskyLowerInPlace, dot } from '../kernels/linalg.js';
import type { SubProductArgs } from '../kernels/linalg_update.js';
import { parallelFor } from '../parallel/pool.js';
import { allocF64 } from '../storage.js';

function checkSquare(op: string, a: Float64Array, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new TensorError(`${op}: invalid order ${n}`);
  if (a.length !== n * n)
    throw new TensorError(`${op}: matrix holds ${a.length} values, expected ${n}x${n} = ${n * n}`);
}

/**
 * In-place lower Cholesky factor (LAPACK potrf style): overwrites the lower triangle of `l` [n, n] with L
 * (the upper triangle is neither read nor written). Returns -1 on success, else the index i of the first pivot
 * that is not positive (or not finite), with l[i, i] holding that value; l is then partly overwritten.
 */
export function choleskyInPlace(l: Float64Array, n: number): number {
  checkSquare('choleskyInPlace', l, n);
  return choleskyLowerInPlace(l, n);
}

/**
 * Lower Cholesky factor L with a = L L^T (only a's lower triangle is read). Throws a TensorError naming the
 * failing pivot when a is not (numerically) positive definite. Cache- and register-blocked (kernels/linalg.ts).
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  checkSquare('cholesky', a, n);
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) L[i * n + j] = a[i * n + j]!;
  const bad = choleskyLowerInPlace(L, n);
  if (bad >= 0)
    throw new TensorError(`cholesky: matrix is not positive definite (pivot ${bad} of ${n} is ${L[bad * n + bad]})`);
  return L;
}

/** Upper Cholesky factor U with a = U^T U (torch.linalg.cholesky(a, upper=True)). */
export function choleskyUpper(a: Float64Array, n: number): Float64Array {
  const L = cholesky(a, n);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) U[j * n + i] = L[i * n + j]!;
  return U;
}

/**
 * Inverse of the lower-triangular L [n, n] (only its lower triangle is read); the result is lower triangular.
 * Throws a TensorError when a diagonal entry is zero or not finite.
 */
export function lowerTriangularInverse(L: Float64Array, n: number): Float64Array {
  checkSquare('lowerTriangularInverse', L, n);
  for (let i = 0; i < n; i++) {
    const d = L[i * n + i]!;
    if (d === 0 || !Number.isFinite(d))
      throw new TensorError(`lowerTriangularInverse: matrix is singular (diagonal ${i} is ${d})`);
  }
  const m = allocF64(n * n);
  // Split over column pairs (kernels/linalg.ts); about n^2 / 6 multiply-adds per pair, ~0.5 ns each.
  parallelFor('linalg.lowerInverse', { l: L, m, n }, Math.ceil(n / 2), { costPerRow: (n * n) / 12 });
  return m;
}

/**
 * C[r, colStart:colEnd] -= sum_t A[r, t] * B[bRow0 + t, colStart:colEnd] for r < rows (float64, in place), split
 * over rows on the worker pool; bit-identical for any thread count. Arrays from allocF64 avoid copies.
 */
export function subtractProduct(args: SubProductArgs, rows: number): void {
  const { c, ldc, a, k, b, ldb, bRow0, colStart, colEnd } = args;
  if (!(colStart >= 0 && colStart <= colEnd && colEnd <= ldc && c.length >= rows * ldc && a.length >= rows * k))
    throw new TensorError(
      `subtractProduct: C [${rows}, ${ldc}] / A [${rows}, ${k}] do not fit columns ${colStart}..${colEnd}`,
    );
  if (rows > 0 && k > 0 && colEnd > colStart && b.length < (bRow0 + k - 1) * ldb + colEnd)
    throw new TensorError(`subtractProduct: B of ${b.length} values is too small for rows ${bRow0}..${bRow0 + k}`);
  parallelFor('linalg.subProduct', args, rows, { costPerRow: 0.6 * k * (colEnd - colStart) });
}

/** (L L^T)^-1 from the lower Cholesky factor L (torch.cholesky_inverse); the result is symmetric. */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  checkSquare('choleskyInverse', L, n);
  const M = lowerTriangularInverse(L, n);
  // A^-1 = M^T M. With Mt = M^T (upper): out[i, j] = sum_{k >= j} Mt[i, k] Mt[j, k] for i <= j, contiguous dots.
  const Mt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k <= i; k++) Mt[k * n + i] = M[i * n + k]!;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let j = i;
    for (; j + 3 < n; j += 4) {
      // Columns j..j+3: their dots start at k = j..j+3; accumulate the shared range k >= j+3 together.
      const r0 = j * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = j + 3; k < n; k++) {
        const v = Mt[ri + k]!;
        s0 += v * Mt[r0 + k]!;
        s1 += v * Mt[r1 + k]!;
        s2 += v * Mt[r2 + k]!;
        s3 += v * Mt[r3 + k]!;
      }
      s0 += Mt[ri + j]! * Mt[r0 + j]! + Mt[ri + j + 1]! * Mt[r0 + j + 1]! + Mt[ri + j + 2]! * Mt[r0 + j + 2]!;
      s1 += Mt[ri + j + 1]! * Mt[r1 + j + 1]! + Mt[ri + j + 2]! * Mt[r1 + j + 2]!;
      s2 += Mt[ri + j + 2]! * Mt[r2 + j + 2]!;
      out[ri + j] = s0;
      out[ri + j + 1] = s1;
      out[ri + j + 2] = s2;
      out[ri + j + 3] = s3;
    }
    for (; j < n; j++) out[ri + j] = dot(Mt, ri + j, j * n + j, n - j);
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[j * n + i] = out[i * n + j]!;
  return out;
}

export interface SolveOptions {
  /** The matrix is lower triangular (default true); otherwise upper. Only that triangle is read. */
  lower?: boolean;
  /** Solve with the transpose of the matrix (default false). */
  transpose?: boolean;
}

/**
 * Solves T x = b (or T^T x = b) for triangular T `[n, n]`; b is `[n]` or row-major `[n, m]` (m = b.length / n).
 * Returns a new array; a zero diagonal is a TensorError.
 */
export function solveTriangular(
  t: Float64Array,
  b: Float64Array | ArrayLike<number>,
  n: number,
  opts: SolveOptions = {},
): Float64Array {
  checkSquare('solveTriangular', t, n);
  if (n === 0 ? b.length !== 0 : b.length % n !== 0) {
    throw new TensorError(`solveTriangular: right-hand side of ${b.length} values does not fit ${n} rows`);
  }
  const lower = opts.lower ?? true;
  const transpose = opts.transpose ?? false;
  const m = n === 0 ? 0 : b.length / n;
  const x = Float64Array.from(b);
  // Effective matrix E = T or T^T; E[i, k] = t[i*n+k] or t[k*n+i]. Forward when E is lower.
  const forward = lower !== transpose;
  const rs = transpose ? 1 : n; // stride of E along its row index i
  const cs = transpose ? n : 1; // stride along its column index k
  for (let s = 0; s < n; s++) {
    const i = forward ? s : n - 1 - s;
    const ri = i * m;
    const k0 = forward ? 0 : i + 1;
    const k1 = forward ? i : n;
    for (let k = k0; k < k1; k++) {
      const c = t[i * rs + k * cs]!;
      if (c === 0) continue;
      const rk = k * m;
      for (let j = 0; j < m; j++) x[ri + j] -= c * x[rk + j]!;
    }
    const d = t[i * n + i]!;
    if (d === 0) throw new TensorError(`solveTriangular: matrix is singular (diagonal ${i} is 0)`);
    for (let j = 0; j < m; j++) x[ri + j] /= d;
  }
  return x;
}
