import { allocF32, type Tensor } from '@stade/tensor';
import { PruneError } from '../errors.js';
import type { ScoreStats } from '../stats.js';

/** A score function: lower scores are pruned first. Returns row-major [out, in] scores. */
export type ScoreFn = (w: Tensor /* [out, in] */, stats: ScoreStats | null) => Float32Array;

/** Checks the weight is 2-D and returns its [out, in] shape and row-major values. */
export function weightValues(w: Tensor, what: string): { out: number; inp: number; v: Float32Array } {
  if (w.ndim !== 2) throw new PruneError(`${what}: weight must be 2-D [out, in], got [${w.shape.join(', ')}]`);
  return { out: w.shape[0]!, inp: w.shape[1]!, v: w.values() };
}

/** Checks that statistics exist and match the weight's input width. */
export function needStats<S extends { cols: number }>(stats: S | null, inp: number, what: string): S {
  if (!stats) throw new PruneError(`${what}: calibration statistics are required`);
  if (stats.cols !== inp)
    throw new PruneError(`${what}: statistics have ${stats.cols} columns, weight has ${inp} inputs`);
  return stats;
}

/** score_ij = |W_ij| * col_j ('abs') or W_ij^2 * col_j ('sq'), computed in float64 and rounded once to float32. */
export function scaleColumns(
  v: Float32Array,
  out: number,
  inp: number,
  col: Float64Array,
  f: 'abs' | 'sq',
): Float32Array {
  const s = allocF32(out * inp); // lent by the current owner (the driver's layer arena)
  for (let i = 0; i < out; i++) {
    const o = i * inp;
    if (f === 'abs') for (let j = 0; j < inp; j++) s[o + j] = Math.abs(v[o + j]!) * col[j]!;
    else
      for (let j = 0; j < inp; j++) {
        const w = v[o + j]!;
        s[o + j] = w * w * col[j]!;
      }
  }
  return s;
}
