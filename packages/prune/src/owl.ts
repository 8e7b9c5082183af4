import type { Tensor } from '@stade/tensor';
import { PruneError } from './errors.js';
import type { ScoreStats } from './stats.js';

/** OWL hyper-parameters: outlier threshold M (times the mean) and spread lambda. Defaults 5 and 0.08. */
export interface OwlOptions {
  m?: number;
  lambda?: number;
}

/**
 * OWL's layerwise outlier distribution of one block (percent of outliers): over all the block's linear layers,
 * the share of a_ij = |W_ij| * sqrt(scaler_j) (= |W_ij| * ||x_j|| up to a constant) that exceed M times their mean.
 */
export function outlierRatio(layers: readonly { weight: Tensor; stats: ScoreStats }[], m = 5): number {
  let total = 0;
  let sum = 0;
  const metrics: Float64Array[] = [];
  for (const { weight, stats } of layers) {
    const inp = weight.shape[1]!;
    if (stats.cols !== inp)
      throw new PruneError(`outlierRatio: statistics have ${stats.cols} columns, weight has ${inp}`);
    const v = weight.values();
    const col = stats.scaler().map(Math.sqrt);
    const a = new Float64Array(v.length);
    for (let k = 0; k < v.length; k++) {
      a[k] = Math.fround(Math.abs(v[k]!) * col[k % inp]!);
      sum += a[k]!;
    }
    total += v.length;
    metrics.push(a);
  }
  if (total === 0) return 0;
  const thresh = (sum / total) * m;
  let count = 0;
  for (const a of metrics) for (let k = 0; k < a.length; k++) if (a[k]! > thresh) count++;
  return (100 * count) / total;
}

/**
 * OWL allocation (Yin et al. 2024, and its reference code): ratios are min-max normalised to [0, 2 * lambda], centred
 * on their parameter-weighted mean, and block sparsity = target - (normalised - mean): blocks with more outliers keep
 * more weights, and the parameter-weighted average sparsity equals the target exactly.
 */
export function owlAllocation(
  ratios: readonly number[],
  params: readonly number[],
  target: number,
  opts: OwlOptions = {},
): number[] {
  const lambda = opts.lambda ?? 0.08;
  if (ratios.length !== params.length)
    throw new PruneError(`owlAllocation: ${ratios.length} ratios for ${params.length} blocks`);
  if (!(lambda >= 0)) throw new PruneError(`OWL lambda ${lambda} must be >= 0`);
  const lo = Math.min(...ratios);
  const hi = Math.max(...ratios);
  if (ratios.length === 0) return [];
  const norm = ratios.map((r) => (hi > lo ? ((r - lo) / (hi - lo)) * 2 * lambda : 0));
  const ptotal = params.reduce((a, b) => a + b, 0);
  const mean = norm.reduce((a, r, i) => a + r * params[i]!, 0) / ptotal;
  const out = norm.map((r) => target - (r - mean));
  out.forEach((s, i) => {
    if (!(s >= 0 && s < 1)) {
      throw new PruneError(
        `OWL gives block ${i} sparsity ${s.toFixed(4)} outside [0, 1) (target ${target}, lambda ${lambda}); lower lambda`,
      );
    }
  });
  return out;
}
