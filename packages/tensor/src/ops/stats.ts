/** Float64 statistics: mergeable per-column moments and the `X^T X` accumulation used by SparseGPT. */
import { fmtShape, shapeMismatch, TensorError } from '../errors.js';
import { columnMomentsCols, mirrorUpper, xtxRows } from '../kernels/stats.js';
import { allocF64 } from '../storage.js';
import type { Tensor } from '../tensor.js';
import { dense, runRows } from './run.js';

function rowsOf(op: string, x: Tensor, cols: number): number {
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== cols) shapeMismatch(op, x.shape, [cols], `expected [..., ${cols}]`);
  return cols === 0 ? 0 : x.size / cols;
}

/**
 * Per-column running statistics over rows of `[rows, cols]` batches, in float64: `count`, `sum`, `sumsq`
 * and the centred `M2` (merged with Chan et al.'s parallel formula, so it stays accurate when the mean is
 * large relative to the spread). Two instances merge exactly as if one had seen both streams.
 */
export class ColumnStats {
  readonly cols: number;
  /** Rows seen. */
  count = 0;
  /** Per-column sum of values. */
  readonly sum: Float64Array;
  /** Per-column sum of squares. */
  readonly sumsq: Float64Array;
  /** Per-column sum of squared deviations from the running mean. */
  readonly M2: Float64Array;
  private readonly runMean: Float64Array;

  constructor(cols: number) {
    if (!Number.isInteger(cols) || cols < 0) throw new TensorError(`ColumnStats: invalid column count ${cols}`);
    this.cols = cols;
    this.sum = new Float64Array(cols);
    this.sumsq = new Float64Array(cols);
    this.M2 = new Float64Array(cols);
    this.runMean = new Float64Array(cols);
  }

  /** Adds the rows of `x` (`[rows, cols]`, or any `[..., cols]`). */
  update(x: Tensor): this {
    const cols = this.cols;
    const rows = rowsOf('ColumnStats.update', x, cols);
    if (rows === 0) return this;
    const { data, off } = dense(x);
    const args = { x: data, xOff: off, rows, cols, sum: allocF64(cols), sumsq: allocF64(cols), m2: allocF64(cols) };
    runRows('stats.columnMoments', columnMomentsCols, args, cols, rows * 4);
    this.combine(rows, args.sum, args.sumsq, args.m2);
    return this;
  }

  /** Merges another accumulator over the same columns into this one. */
  merge(o: ColumnStats): this {
    if (o.cols !== this.cols) shapeMismatch('ColumnStats.merge', [this.cols], [o.cols]);
    if (o.count === 0) return this;
    this.combine(o.count, o.sum, o.sumsq, o.M2);
    return this;
  }

  private combine(nb: number, sumB: Float64Array, sumsqB: Float64Array, m2B: Float64Array): void {
    const na = this.count;
    const n = na + nb;
    for (let c = 0; c < this.cols; c++) {
      const meanB = sumB[c]! / nb;
      const delta = meanB - this.runMean[c]!;
      this.M2[c] += m2B[c]! + ((delta * delta * na) / n) * nb;
      this.runMean[c] += (delta * nb) / n;
      this.sum[c] += sumB[c]!;
      this.sumsq[c] += sumsqB[c]!;
    }
    this.count = n;
  }

  /** Per-column mean (NaN before any row). */
  mean(): Float64Array {
    if (this.count === 0) return new Float64Array(this.cols).fill(Number.NaN);
    return Float64Array.from(this.runMean);
  }

  /** Per-column variance, unbiased (n - 1) by default; NaN when the divisor is <= 0. */
  variance(unbiased = true): Float64Array {
    const d = this.count - (unbiased ? 1 : 0);
    return Float64Array.from(this.M2, (m) => (d > 0 ? m / d : Number.NaN));
  }

  /** Per-column standard deviation (sqrt of `variance(unbiased)`). */
  std(unbiased = true): Float64Array {
    return this.variance(unbiased).map(Math.sqrt);
  }

  /** An independent copy. */
  clone(): ColumnStats {
    const c = new ColumnStats(this.cols);
    c.count = this.count;
    c.sum.set(this.sum);
    c.sumsq.set(this.sumsq);
    c.M2.set(this.M2);
    c.runMean.set(this.runMean);
    return c;
  }
}

/**
 * `h += scale * X^T X` in float64 for `x: [rows, n]` (or `[..., n]`); `h` is a row-major `[n, n]`
 * Float64Array kept symmetric (its upper triangle is accumulated, then mirrored).
 */
export function accumulateXtX(h: Float64Array, x: Tensor, scale = 1): Float64Array {
  if (x.ndim < 1) throw new TensorError(`accumulateXtX: x must be [rows, n], got ${fmtShape(x.shape)}`);
  const n = x.shape[x.ndim - 1]!;
  if (h.length !== n * n)
    throw new TensorError(`accumulateXtX: h holds ${h.length} values, x ${fmtShape(x.shape)} needs ${n}x${n}`);
  const rows = rowsOf('accumulateXtX', x, n);
  if (rows === 0) return h;
  const { data, off } = dense(x);
  runRows('stats.xtx', xtxRows, { h, x: data, xOff: off, rows, n, scale }, Math.ceil(n / 2), rows * n);
  mirrorUpper(h, n);
  return h;
}
