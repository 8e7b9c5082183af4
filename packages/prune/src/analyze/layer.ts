import type { Tensor } from '@stade/tensor';
import type { Group, Pattern } from '../mask.js';
import { outlierRatio } from '../owl.js';
import { pruneLinear } from '../prune-layer.js';
import type { LayerStats } from '../stats.js';
import {
  type ColumnMoments,
  columnMoments,
  crossError,
  diagonalError,
  meanNorm,
  noncentredness,
  secondMomentMatrix,
} from './closed-form.js';

/** What the analysis prunes: the target sparsity, the pattern and the comparison group. */
export interface AnalyzeTarget {
  /** In [0, 1); may be omitted for N:M. */
  sparsity?: number;
  pattern?: Pattern | string;
  group?: Group;
  /** OWL's outlier threshold M (default 5). */
  owlM?: number;
}

/** The closed-form output error of one method (mean squared error per output and token). */
export interface PredictedError {
  /** Independence closed form: sum W^2 E[x^2] (wanda) or sum W^2 Var(x) (stade), over the method's pruned set. */
  diag: number;
  /** The cross terms between pruned columns the independence assumption drops (exact, from E[x x^T]). */
  cross: number;
}

/** A linear layer's weights after one method, for measurement. */
export interface PrunedLinear {
  weight: Tensor; // [out, in]
  bias: Tensor | null; // [out]
}

/** The analysis of one linear layer from its dense input statistics. */
export interface LinearAnalysis {
  name: string;
  /** Mean over columns of mean(x_j)^2 / E[x_j^2] (columns with E[x_j^2] = 0 count 0). */
  noncentred: number;
  /** OWL's measure for this layer alone: share of |W_ij| ||x_j|| above M times their mean, in [0, 1]. */
  outlierShare: number;
  /** Norm of the input mean vector. */
  meanNorm: number;
  predicted: { wanda: PredictedError; stade: PredictedError };
  /** The pruned weights and masks (1 = pruned) of each method (STADE with its bias correction). */
  pruned: { wanda: PrunedLinear & { mask: Uint8Array }; stade: PrunedLinear & { mask: Uint8Array } };
  /** Entries where the two masks differ, as a fraction of the weights. */
  maskDifference: number;
}

/**
 * Input statistics, the Wanda and STADE masks (exactly as `pruneLinear` selects them) and their predicted output
 * errors. `stats` must have been collected with the Hessian (its X^T X gives the exact cross terms); pass
 * `cross: false` to skip them (they are then reported as NaN).
 */
export function analyzeLinear(
  name: string,
  weight: Tensor /* [out, in] */,
  bias: Tensor | null,
  stats: LayerStats,
  target: AnalyzeTarget,
  opts: { cross?: boolean } = {},
): LinearAnalysis {
  const m: ColumnMoments = columnMoments(stats);
  const common = { sparsity: target.sparsity, pattern: target.pattern, group: target.group };
  const wanda = pruneLinear(name, weight, bias, stats, { ...common, method: 'wanda' });
  const stade = pruneLinear(name, weight, bias, stats, { ...common, method: 'stade', biasCorrection: true });
  const wantCross = opts.cross ?? true;
  const second = wantCross ? secondMomentMatrix(stats) : null;
  const cross = (mask: Uint8Array, mean: Float64Array | null): number =>
    second ? crossError(weight, mask, second, mean) : Number.NaN;
  let diff = 0;
  for (let k = 0; k < wanda.mask.length; k++) if (wanda.mask[k] !== stade.mask[k]) diff++;
  return {
    name,
    noncentred: noncentredness(m),
    outlierShare: outlierRatio([{ weight, stats }], target.owlM ?? 5) / 100,
    meanNorm: meanNorm(m),
    predicted: {
      wanda: { diag: diagonalError(weight, wanda.mask, m.second), cross: cross(wanda.mask, null) },
      stade: { diag: diagonalError(weight, stade.mask, m.variance), cross: cross(stade.mask, m.mean) },
    },
    pruned: {
      wanda: { weight: wanda.weight, bias: wanda.bias, mask: wanda.mask },
      stade: { weight: stade.weight, bias: stade.bias, mask: stade.mask },
    },
    maskDifference: wanda.mask.length ? diff / wanda.mask.length : 0,
  };
}
