/**
 * Dense linear algebra in float64 on row-major `Float64Array` matrices of order `n` (SparseGPT's Hessian
 * work): Cholesky factorisation, inverse from the factor, triangular solves.
 */
import { TensorError } from '../errors.js';

function checkSquare(op: string, a: Float64Array, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new TensorError(`${op}: invalid order ${n}`);
  if (a.length !== n * n) throw new TensorError(`${op}: matrix holds ${a.length} values, expected ${n}x${n} = ${n * n}`);
}

/**
 * Lower Cholesky factor L with a = L L^T (only a's lower triangle is read). Throws a TensorError naming the
 * failing pivot when a is not (numerically) positive definite.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  checkSquare('cholesky', a, n);
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      if (j < i) L[ri + j] = s / L[rj + j]!;
      else {
        if (!(s > 0) || !Number.isFinite(s)) {
          throw new TensorError(`cholesky: matrix is not positive definite (pivot ${i} of ${n} is ${s})`);
        }
        L[ri + i] = Math.sqrt(s);
      }
    }
  }
  return L;
}

/** Upper Cholesky factor U with a = U^T U (torch.linalg.cholesky(a, upper=True)). */
export function choleskyUpper(a: Float64Array, n: number): Float64Array {
  const L = cholesky(a, n);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) U[j * n + i] = L[i * n + j]!;
  return U;
}

/** Inverse of the lower-triangular L (row-oriented forward substitution). */
function lowerInverse(L: Float64Array, n: number): Float64Array {
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const d = L[ri + i]!;
    if (d === 0 || !Number.isFinite(d)) throw new TensorError(`choleskyInverse: factor is singular (diagonal ${i} is ${d})`);
    // row i of L^-1 = (e_i - sum_{k<i} L[i,k] * row k of L^-1) / L[i,i]
    for (let k = 0; k < i; k++) {
      const c = L[ri + k]!;
      if (c === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) M[ri + j] -= c * M[rk + j]!;
    }
    M[ri + i] = 1;
    const inv = 1 / d;
    for (let j = 0; j <= i; j++) M[ri + j] *= inv;
  }
  return M;
}

/** (L L^T)^-1 from the lower Cholesky factor L (torch.cholesky_inverse); the result is symmetric. */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  checkSquare('choleskyInverse', L, n);
  const M = lowerInverse(L, n);
  // A^-1 = M^T M: out[i, j] = sum_{k >= max(i, j)} M[k, i] M[k, j]; accumulate the upper triangle row by row.
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const a = M[rk + i]!;
      if (a === 0) continue;
      const ri = i * n;
      for (let j = i; j <= k; j++) out[ri + j] += a * M[rk + j]!;
    }
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
export function solveTriangular(t: Float64Array, b: Float64Array | ArrayLike<number>, n: number, opts: SolveOptions = {}): Float64Array {
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
