import { allocF32, type Tensor } from '@stade/tensor';
import { weightValues } from './common.js';

/** magnitude: score_ij = |W_ij|. */
export function magnitudeScores(w: Tensor): Float32Array {
  const { v } = weightValues(w, 'magnitude');
  const s = allocF32(v.length);
  for (let k = 0; k < v.length; k++) s[k] = Math.abs(v[k]!);
  return s;
}
