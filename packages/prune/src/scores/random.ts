import { allocF32, type Tensor } from '@stade/tensor';
import { hashSeed, Rng } from '../rng.js';
import { weightValues } from './common.js';

/**
 * random: seeded standard normal noise of the weight's shape. The stream depends on the seed and the layer name
 * only, so it does not change with the order layers are pruned in or the thread count.
 */
export function randomScores(w: Tensor, seed: number, layerName = ''): Float32Array {
  const { v } = weightValues(w, 'random');
  const rng = new Rng(hashSeed(seed, layerName));
  const s = allocF32(v.length);
  for (let k = 0; k < s.length; k++) s[k] = rng.normal();
  return s;
}
