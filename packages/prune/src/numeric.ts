/** Float64 numeric helpers used by mask selection and SparseGPT; tested against naive references in numeric.test.ts. */
import { PruneError } from './errors.js';

/**
 * The value of rank k (0-based) of `a[0..len)` in ascending order; reorders `a`. NaN must not be present.
 */
export function quickselect(a: Float64Array | Float32Array, len: number, k: number): number {
  let lo = 0;
  let hi = len - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    let x = a[lo]!;
    let y = a[mid]!;
    let z = a[hi]!;
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * Upper-triangular U with U^T U = A^-1 for a symmetric positive definite A (row-major [n, n], float64).
 * With P the reversal permutation: P A P = L L^T gives A = V V^T with V = P L P upper, so
 * A^-1 = (V^-1)^T V^-1 and U = V^-1 = P L^-1 P. Cost: one Cholesky and one triangular inverse.
 */
export function upperCholeskyOfInverse(a: Float64Array, n: number, what = 'matrix'): Float64Array {
  // Lower Cholesky of the reversed matrix, in place in l.
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)]!;
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = l[rj + j]!;
    for (let k = 0; k < j; k++) d -= l[rj + k]! * l[rj + k]!;
    if (!(d > 0)) throw new PruneError(`Cholesky: ${what} is not positive definite (pivot ${n - 1 - j} = ${d})`);
    const djj = Math.sqrt(d);
    l[rj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = l[ri + j]!;
      for (let k = 0; k < j; k++) s -= l[ri + k]! * l[rj + k]!;
      l[ri + j] = s / djj;
    }
  }
  // Inverse of the lower triangular L, row by row: M = L^-1 (lower),
  // M[i,:] = (e_i - sum_{k<i} L[i,k] M[k,:]) / L[i,i], with contiguous inner loops.
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const c = l[ri + k]!;
      if (c === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) m[ri + j]! -= c * m[rk + j]!;
    }
    const inv = 1 / l[ri + i]!;
    for (let j = 0; j < i; j++) m[ri + j]! *= inv;
    m[ri + i] = inv;
  }
  // U = P M P: U[i,j] = M[n-1-i, n-1-j].
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = m[(n - 1 - i) * n + (n - 1 - j)]!;
  return u;
}
