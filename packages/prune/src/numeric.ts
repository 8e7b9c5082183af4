/**
 * Float64 helpers used by mask selection and SparseGPT; tested against naive references in numeric.test.ts.
 * The dense linear algebra itself (blocked Cholesky, triangular inverse) lives in @stade/tensor.
 */
import { choleskyInPlace, lowerTriangularInverse } from '@stade/tensor';
import { PruneError } from './errors.js';

/**
 * The value of rank k (0-based) of `a[0..len)` in ascending order; reorders `a`. NaN must not be present.
 * Kept here (not tensor's per-row float32 kthSmallestPerRow): SparseGPT selects over a whole float64 block.
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
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)]!;
  const bad = choleskyInPlace(l, n);
  if (bad >= 0) throw new PruneError(`Cholesky: ${what} is not positive definite (at pivot ${n - 1 - bad})`);
  // U = P M P: U[i,j] = M[n-1-i, n-1-j], and (n-1-i)*n + (n-1-j) = n*n-1 - (i*n+j): the flat array reversed.
  return lowerTriangularInverse(l, n).reverse();
}
