import type { Tensor } from '@stade/tensor';
import type { ScoreStats } from '../stats.js';
import { needStats, scaleColumns, weightValues } from './common.js';

/** stade: score_ij = W_ij^2 * var_j (unbiased input variance). */
export function stadeScores(w: Tensor, stats: ScoreStats | null): Float32Array {
  const { out, inp, v } = weightValues(w, 'stade');
  const st = needStats(stats, inp, 'stade');
  return scaleColumns(v, out, inp, st.variance(), 'sq');
}

/** stade-star (ablation): score_ij = W_ij^2 * (var_j + mean_j^2). */
export function stadeStarScores(w: Tensor, stats: ScoreStats | null): Float32Array {
  const { out, inp, v } = weightValues(w, 'stade-star');
  const st = needStats(stats, inp, 'stade-star');
  const mean = st.mean();
  const col = st.variance().map((x, j) => x + mean[j]! * mean[j]!);
  return scaleColumns(v, out, inp, col, 'sq');
}
