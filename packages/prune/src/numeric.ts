/**
 * SparseGPT's factor of the inverse Hessian, tested against naive references in numeric.test.ts. The dense
 * linear algebra itself (blocked Cholesky, triangular inverse) and quickselect live in @stade/tensor.
 */
import {
  allocF32,
  choleskyF32InPlace,
  choleskyInPlace,
  lowerTriangularInverse,
  reversedLowerInverseF32,
} from '@stade/tensor';
import { PruneError } from './errors.js';

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

/**
 * The same U in float32 (tensor's SIMD Cholesky and triangular inverse on the pool) for A = `a` with its diagonal
 * replaced by `diag` (SparseGPT's dead columns and dampening, float64). The reversed matrix P A P is rounded to
 * float32 once, then factorised and inverted in float32 as the reference implementation does; only the
 * diagonal blocks are factorised and inverted in float64. Only the upper triangle of `a` is read.
 */
export function upperCholeskyOfInverseF32(
  a: Float64Array,
  n: number,
  diag: Float64Array,
  what = 'matrix',
): Float32Array {
  const l = allocF32(n * n); // [n, n]: L[i, j] = A[n-1-j, n-1-i] for j <= i (the upper triangle of A, reversed)
  for (let i = 0; i < n; i++) {
    const src = (n - 1 - i) * n + (n - 1);
    for (let j = 0; j < i; j++) l[i * n + j] = a[src - j]!;
    l[i * n + i] = diag[n - 1 - i]!;
  }
  const bad = choleskyF32InPlace(l, n);
  if (bad >= 0) throw new PruneError(`Cholesky: ${what} is not positive definite (at pivot ${n - 1 - bad})`);
  return reversedLowerInverseF32(l, n, l);
}
