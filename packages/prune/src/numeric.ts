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

/** Row-block and column-chunk sizes of the cache-blocked loops below (tuned for 1 MB of L2). */
const RB = 64;
const KC = 256;

function dot(x: Float64Array, xo: number, yo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += x[xo + k]! * x[yo + k]!;
    s1 += x[xo + k + 1]! * x[yo + k + 1]!;
    s2 += x[xo + k + 2]! * x[yo + k + 2]!;
    s3 += x[xo + k + 3]! * x[yo + k + 3]!;
  }
  for (; k < len; k++) s0 += x[xo + k]! * x[yo + k]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * In-place lower Cholesky factor of the symmetric positive definite row-major `l` (lower triangle read, upper
 * ignored): Crout order, blocked by rows (RB) and inner dimension (KC) so the dot products run from cache.
 * Returns -1 on success or the failing pivot index.
 */
export function choleskyLowerInPlace(l: Float64Array, n: number): number {
  for (let ib0 = 0; ib0 < n; ib0 += RB) {
    const ib1 = Math.min(ib0 + RB, n);
    // Columns left of the block, chunk by chunk: subtract, and finish (divide) the columns of the chunk.
    for (let kc0 = 0; kc0 < ib0; kc0 += KC) {
      const kc1 = Math.min(kc0 + KC, ib0);
      for (let j = kc0; j < ib1; j++) {
        const ke = Math.min(j, kc1);
        const rj = j * n;
        const i0 = Math.max(ib0, j);
        if (ke > kc0) {
          const len = ke - kc0;
          let i = i0;
          // Two rows share each load of row j.
          for (; i + 1 < ib1; i += 2) {
            const a0 = i * n + kc0;
            const a1 = a0 + n;
            const b = rj + kc0;
            let s0 = 0;
            let s1 = 0;
            let t0 = 0;
            let t1 = 0;
            let k = 0;
            for (; k + 1 < len; k += 2) {
              const y0 = l[b + k]!;
              const y1 = l[b + k + 1]!;
              s0 += l[a0 + k]! * y0;
              s1 += l[a0 + k + 1]! * y1;
              t0 += l[a1 + k]! * y0;
              t1 += l[a1 + k + 1]! * y1;
            }
            if (k < len) {
              s0 += l[a0 + k]! * l[b + k]!;
              t0 += l[a1 + k]! * l[b + k]!;
            }
            l[a0 - kc0 + j]! -= s0 + s1;
            l[a1 - kc0 + j]! -= t0 + t1;
          }
          if (i < ib1) l[i * n + j]! -= dot(l, i * n + kc0, rj + kc0, len);
        }
        if (j < kc1) {
          const d = l[rj + j]!;
          for (let i = i0; i < ib1; i++) l[i * n + j]! /= d;
        }
      }
    }
    // The diagonal block itself.
    for (let i = ib0; i < ib1; i++) {
      const ri = i * n;
      for (let j = ib0; j <= i; j++) {
        const rj = j * n;
        const v = l[ri + j]! - dot(l, ri + ib0, rj + ib0, j - ib0);
        if (j < i) l[ri + j] = v / l[rj + j]!;
        else {
          if (!(v > 0)) return i;
          l[ri + i] = Math.sqrt(v);
        }
      }
    }
  }
  return -1;
}

/** M = L^-1 for a lower-triangular row-major L (row algorithm, blocked like the Cholesky). */
export function invertLower(l: Float64Array, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let ib0 = 0; ib0 < n; ib0 += RB) {
    const ib1 = Math.min(ib0 + RB, n);
    // Contributions of the finished rows k < ib0: m[i, :] -= L[i, k] * m[k, :].
    for (let kb0 = 0; kb0 < ib0; kb0 += RB) {
      const kb1 = Math.min(kb0 + RB, ib0);
      for (let jc0 = 0; jc0 < kb1; jc0 += KC) {
        const jc1 = Math.min(jc0 + KC, kb1);
        for (let i = ib0; i < ib1; i++) {
          const ri = i * n;
          let k = Math.max(kb0, jc0);
          // Four rows of M at a time: row i of m is loaded and stored once per four updates. Entries m[k, j > k]
          // are zero, so running every row of the group up to the last one's diagonal adds nothing wrong.
          for (; k + 3 < kb1; k += 4) {
            const c0 = l[ri + k]!;
            const c1 = l[ri + k + 1]!;
            const c2 = l[ri + k + 2]!;
            const c3 = l[ri + k + 3]!;
            const r0 = k * n;
            const r1 = r0 + n;
            const r2 = r1 + n;
            const r3 = r2 + n;
            const je = Math.min(jc1, k + 4);
            for (let j = jc0; j < je; j++) {
              m[ri + j] = m[ri + j]! - (c0 * m[r0 + j]! + c1 * m[r1 + j]! + (c2 * m[r2 + j]! + c3 * m[r3 + j]!));
            }
          }
          for (; k < kb1; k++) {
            const c = l[ri + k]!;
            if (c === 0) continue;
            const rk = k * n;
            const je = Math.min(jc1, k + 1);
            for (let j = jc0; j < je; j++) m[ri + j]! -= c * m[rk + j]!;
          }
        }
      }
    }
    for (let i = ib0; i < ib1; i++) {
      const ri = i * n;
      for (let k = ib0; k < i; k++) {
        const c = l[ri + k]!;
        if (c === 0) continue;
        const rk = k * n;
        for (let j = 0; j <= k; j++) m[ri + j]! -= c * m[rk + j]!;
      }
      const inv = 1 / l[ri + i]!;
      for (let j = 0; j < i; j++) m[ri + j]! *= inv;
      m[ri + i] = inv;
    }
  }
  return m;
}

/**
 * Upper-triangular U with U^T U = A^-1 for a symmetric positive definite A (row-major [n, n], float64).
 * With P the reversal permutation: P A P = L L^T gives A = V V^T with V = P L P upper, so
 * A^-1 = (V^-1)^T V^-1 and U = V^-1 = P L^-1 P. Cost: one Cholesky and one triangular inverse.
 */
export function upperCholeskyOfInverse(a: Float64Array, n: number, what = 'matrix'): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)]!;
  const bad = choleskyLowerInPlace(l, n);
  if (bad >= 0) throw new PruneError(`Cholesky: ${what} is not positive definite (at pivot ${n - 1 - bad})`);
  // U = P M P: U[i,j] = M[n-1-i, n-1-j], and (n-1-i)*n + (n-1-j) = n*n-1 - (i*n+j): the flat array reversed.
  return invertLower(l, n).reverse();
}
