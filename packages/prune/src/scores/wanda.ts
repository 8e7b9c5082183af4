import type { Tensor } from '@stade/tensor';
import type { ScoreStats } from '../stats.js';
import { needStats, scaleColumns, weightValues } from './common.js';

/** wanda: score_ij = |W_ij| * sqrt(scaler_j), scaler_j = sumsq_j / S. */
export function wandaScores(w: Tensor, stats: ScoreStats | null): Float32Array {
  const { out, inp, v } = weightValues(w, 'wanda');
  const st = needStats(stats, inp, 'wanda');
  const col = st.scaler().map(Math.sqrt);
  return scaleColumns(v, out, inp, col, 'abs');
}
