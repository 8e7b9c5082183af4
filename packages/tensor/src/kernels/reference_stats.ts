/** Naive references for statistics, linear algebra and selection (float64, obvious loops). */
import type { Tensor } from '../tensor.js';
import { refValues } from './reference.js';

/** Per-column count, sum, sum of squares, mean and unbiased variance of `x` `[rows, cols]`, two-pass. */
export function refColumnStats(x: Tensor) {
  const cols = x.shape[x.ndim - 1]!;
  const v = refValues(x);
  const rows = cols ? v.length / cols : 0;
  const sum = new Float64Array(cols);
  const sumsq = new Float64Array(cols);
  const variance = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) {
      sum[c] += v[r * cols + c]!;
      sumsq[c] += v[r * cols + c]! ** 2;
    }
    const m = sum[c]! / rows;
    let q = 0;
    for (let r = 0; r < rows; r++) q += (v[r * cols + c]! - m) ** 2;
    variance[c] = rows > 1 ? q / (rows - 1) : Number.NaN;
  }
  return { count: rows, sum, sumsq, mean: sum.map((s) => s / rows), variance };
}

/** X^T X for `x` `[rows, n]` by the triple loop. */
export function refXtX(x: Tensor): Float64Array {
  const n = x.shape[x.ndim - 1]!;
  const v = refValues(x);
  const rows = v.length / n;
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += v[r * n + i]! * v[r * n + j]!;
      h[i * n + j] = s;
    }
  return h;
}

/** C = A B for row-major float64 matrices [m, k] x [k, p]. */
export function refMatmulF64(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  p: number,
): Float64Array {
  const c = new Float64Array(m * p);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < p; j++) for (let t = 0; t < k; t++) c[i * p + j] += a[i * k + t]! * b[t * p + j]!;
  return c;
}

/** Transpose of a row-major [m, n] float64 matrix. */
export function refTransposeF64(a: ArrayLike<number>, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j]!;
  return t;
}

/** Row-wise k-th smallest (0-based) by a full sort; NaN sorts last. */
export function refKthSmallest(x: Tensor, k: number): Float32Array {
  const cols = x.shape[1]!;
  const v = refValues(x);
  const out = new Float32Array(x.shape[0]!);
  for (let r = 0; r < out.length; r++) {
    const row = Array.from(v.subarray(r * cols, (r + 1) * cols));
    row.sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b));
    out[r] = row[k]!;
  }
  return out;
}

/** Row-wise stable ascending argsort by insertion sort; -0 equals 0 and NaN sorts last. */
export function refArgsortRows(x: Tensor): Int32Array {
  const cols = x.shape[1]!;
  const v = refValues(x);
  const out = new Int32Array(v.length);
  const less = (a: number, b: number) => (Number.isNaN(a) ? false : Number.isNaN(b) ? true : a < b);
  for (let r = 0; r < x.shape[0]!; r++) {
    const idx: number[] = [];
    for (let j = 0; j < cols; j++) {
      let p = idx.length;
      while (p > 0 && less(v[r * cols + j]!, v[r * cols + idx[p - 1]!]!)) p--;
      idx.splice(p, 0, j);
    }
    out.set(idx, r * cols);
  }
  return out;
}
