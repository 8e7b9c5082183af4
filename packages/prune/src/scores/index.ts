import type { Tensor } from '@stade/tensor';
import { PruneError } from '../errors.js';
import type { ScoreStats } from '../stats.js';
import { magnitudeScores } from './magnitude.js';
import { randomScores } from './random.js';
import { stadeScores, stadeStarScores } from './stade.js';
import { wandaScores } from './wanda.js';

export type { ScoreFn } from './common.js';
export { magnitudeScores, randomScores, stadeScores, stadeStarScores, wandaScores };

/** Score-based methods (SparseGPT is separate: it also updates the weights). */
export const SCORE_METHODS = ['magnitude', 'random', 'wanda', 'stade', 'stade-star', 'stadew', 'stadew-star'] as const;
export type ScoreMethod = (typeof SCORE_METHODS)[number];

/** Layers STADE-W scores with STADE (the ones whose inputs are not normalised): the rest use Wanda. */
const STADEW_STADE_LAYERS = ['self_attn.o_proj', 'mlp.down_proj', 'self_attn.out_proj', 'fc2'];

/** True when `layerName` (full HF name or suffix) is an o_proj / down_proj / out_proj / fc2 layer. */
export function isStadewStadeLayer(layerName: string): boolean {
  return STADEW_STADE_LAYERS.some((s) => layerName === s || layerName.endsWith(`.${s}`));
}

/**
 * The effective per-layer method: `stadew` becomes `stade` or `wanda` by layer name (`stadew-star`: `stade-star`
 * or `wanda`); other methods are returned unchanged.
 */
export function effectiveMethod(
  method: ScoreMethod,
  layerName: string,
): Exclude<ScoreMethod, 'stadew' | 'stadew-star'> {
  if (method === 'stadew') return isStadewStadeLayer(layerName) ? 'stade' : 'wanda';
  if (method === 'stadew-star') return isStadewStadeLayer(layerName) ? 'stade-star' : 'wanda';
  return method;
}

/** Scores of `method` for the layer `layerName` (lower = pruned first). */
export function computeScores(
  method: ScoreMethod,
  w: Tensor,
  stats: ScoreStats | null,
  opts: { layerName?: string; seed?: number } = {},
): Float32Array {
  const name = opts.layerName ?? '';
  const m = effectiveMethod(method, name);
  switch (m) {
    case 'magnitude':
      return magnitudeScores(w);
    case 'random':
      return randomScores(w, opts.seed ?? 0, name);
    case 'wanda':
      return wandaScores(w, stats);
    case 'stade':
      return stadeScores(w, stats);
    case 'stade-star':
      return stadeStarScores(w, stats);
    default:
      throw new PruneError(`unknown scoring method ${JSON.stringify(method)}`);
  }
}
