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
  // Lower Cholesky of the reversed matrix, row by row (Cholesky-Crout): row i stays in cache while the rows
  // above stream past; 4-way unrolled dot products.
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)]!;
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k + 3 < j; k += 4) {
        s0 += l[ri + k]! * l[rj + k]!;
        s1 += l[ri + k + 1]! * l[rj + k + 1]!;
        s2 += l[ri + k + 2]! * l[rj + k + 2]!;
        s3 += l[ri + k + 3]! * l[rj + k + 3]!;
      }
      for (; k < j; k++) s0 += l[ri + k]! * l[rj + k]!;
      const v = l[ri + j]! - (s0 + s1 + (s2 + s3));
      if (j < i) l[ri + j] = v / l[rj + j]!;
      else {
        if (!(v > 0)) throw new PruneError(`Cholesky: ${what} is not positive definite (pivot ${n - 1 - i} = ${v})`);
        l[ri + i] = Math.sqrt(v);
      }
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
      let j = 0;
      for (; j + 3 <= k; j += 4) {
        m[ri + j]! -= c * m[rk + j]!;
        m[ri + j + 1]! -= c * m[rk + j + 1]!;
        m[ri + j + 2]! -= c * m[rk + j + 2]!;
        m[ri + j + 3]! -= c * m[rk + j + 3]!;
      }
      for (; j <= k; j++) m[ri + j]! -= c * m[rk + j]!;
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
