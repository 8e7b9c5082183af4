import type { Tensor } from '@stade/tensor';
import { PruneError } from '../errors.js';
import type { LayerStats, ScoreStats } from '../stats.js';

/**
 * Per-column moments of a layer's inputs over the N calibration tokens, all float64 and population-normalised
 * (divided by N), so that the closed forms below are exact expectations over those tokens.
 */
export interface ColumnMoments {
  /** mean(x_j). */
  mean: Float64Array;
  /** E[x_j^2] = sumsq_j / N. */
  second: Float64Array;
  /** Var(x_j) = M2_j / N (population; the STADE score's unbiased variance ranks identically). */
  variance: Float64Array;
}

/** The moments of `stats` (a LayerStats or anything with the same sums). */
export function columnMoments(stats: ScoreStats & { sumsq: Float64Array }): ColumnMoments {
  const n = stats.tokens;
  const mean = stats.mean();
  const second = new Float64Array(stats.cols);
  const variance = stats.variance(); // unbiased, M2 / (N - 1)
  const f = n > 1 ? (n - 1) / n : 0;
  for (let j = 0; j < stats.cols; j++) {
    second[j] = n > 0 ? stats.sumsq[j]! / n : 0;
    variance[j] = variance[j]! * f;
  }
  return { mean, second, variance };
}

/**
 * How far the inputs are from centred: the mean over columns of mean(x_j)^2 / E[x_j^2], in [0, 1]; a column with
 * E[x_j^2] = 0 counts 0. It is 0 for centred inputs and 1 for constant ones.
 */
export function noncentredness(m: ColumnMoments): number {
  const cols = m.mean.length;
  if (cols === 0) return 0;
  let s = 0;
  for (let j = 0; j < cols; j++) {
    const e2 = m.second[j]!;
    if (e2 > 0) s += Math.min(1, (m.mean[j]! * m.mean[j]!) / e2);
  }
  return s / cols;
}

/** Euclidean norm of the input mean vector. */
export function meanNorm(m: ColumnMoments): number {
  let s = 0;
  for (const v of m.mean) s += v * v;
  return Math.sqrt(s);
}

/**
 * The independence closed form of a pruned set, as a mean squared error per output and token:
 * (1 / out) * sum_i sum_{j in P_i} W_ij^2 * col_j. With col = E[x^2] this is the expected error of pruning without
 * a bias correction (Wanda's criterion); with col = Var(x) the error with STADE's correction.
 */
export function diagonalError(w: Tensor /* [out, in] */, mask: Uint8Array, col: Float64Array): number {
  const [out, inp] = shapeOf(w, mask, col);
  const v = w.values();
  let s = 0;
  for (let i = 0; i < out; i++) {
    const o = i * inp;
    for (let j = 0; j < inp; j++) {
      if (!mask[o + j]) continue;
      const a = v[o + j]!;
      s += a * a * col[j]!;
    }
  }
  return out ? s / out : 0;
}

/**
 * The cross terms the independence assumption drops, per output and token:
 * (1 / out) * sum_i sum_{j != k in P_i} W_ij W_ik A_jk, where A is E[x x^T] (no correction) or the covariance
 * (with STADE's correction). `second` is E[x x^T] as a row-major [in, in] float64 matrix; `mean` is subtracted
 * (A = E[x x^T] - mean mean^T) when given. Cost: out * |P_i|^2 / 2 multiply-adds (pruned columns gathered per row).
 */
export function crossError(
  w: Tensor /* [out, in] */,
  mask: Uint8Array,
  second: Float64Array /* [in, in] */,
  mean: Float64Array | null,
): number {
  const out = w.shape[0]!;
  const inp = w.shape[1]!;
  if (second.length !== inp * inp) throw new PruneError(`crossError: ${second.length} moments for ${inp} inputs`);
  if (mask.length !== out * inp) throw new PruneError(`crossError: mask of ${mask.length} for [${out}, ${inp}]`);
  const v = w.values();
  const idx = new Int32Array(inp);
  const d = new Float64Array(inp);
  const dm = new Float64Array(inp); // d_a * mean_{idx_a}
  let total = 0;
  for (let i = 0; i < out; i++) {
    const o = i * inp;
    let p = 0;
    let sm = 0; // sum_a d_a mean_a
    for (let j = 0; j < inp; j++) {
      if (!mask[o + j]) continue;
      idx[p] = j;
      d[p] = v[o + j]!;
      dm[p] = mean ? d[p]! * mean[j]! : 0;
      sm += dm[p]!;
      p++;
    }
    // sum_{a != b} d_a d_b (S_ab - m_a m_b) = 2 sum_{a<b} d_a d_b S_ab - ((sum_a d_a m_a)^2 - sum_a (d_a m_a)^2)
    let s = 0;
    for (let a = 0; a < p; a++) {
      const row = idx[a]! * inp;
      let t = 0;
      for (let b = a + 1; b < p; b++) t += d[b]! * second[row + idx[b]!]!;
      s += d[a]! * t;
    }
    s *= 2;
    if (mean) {
      let sq = 0;
      for (let a = 0; a < p; a++) sq += dm[a]! * dm[a]!;
      s -= sm * sm - sq;
    }
    total += s;
  }
  return out ? total / out : 0;
}

/** E[x x^T] over the calibration tokens ([in, in] row-major, float64) from a LayerStats that kept its Hessian. */
export function secondMomentMatrix(stats: LayerStats): Float64Array {
  // hessian() = (2 / S) * sum_s X_s^T X_s, so X^T X / N = hessian * S / (2 N).
  const h = stats.hessian();
  const f = stats.tokens > 0 ? stats.sequences / (2 * stats.tokens) : 0;
  for (let k = 0; k < h.length; k++) h[k]! *= f;
  return h;
}

function shapeOf(w: Tensor, mask: Uint8Array, col: Float64Array): [number, number] {
  if (w.ndim !== 2) throw new PruneError(`weight must be 2-D [out, in], got [${w.shape.join(', ')}]`);
  const out = w.shape[0]!;
  const inp = w.shape[1]!;
  if (mask.length !== out * inp) throw new PruneError(`mask of ${mask.length} entries for [${out}, ${inp}]`);
  if (col.length !== inp) throw new PruneError(`${col.length} column moments for ${inp} inputs`);
  return [out, inp];
}
