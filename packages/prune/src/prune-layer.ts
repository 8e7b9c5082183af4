import type { Tensor } from '@stade/tensor';
import { PruneError } from './errors.js';
import { applyMask, biasCorrection, type Group, type Pattern, selectMask } from './mask.js';
import { computeScores, effectiveMethod, SCORE_METHODS, type ScoreMethod } from './scores/index.js';
import { sparsegpt } from './sparsegpt.js';
import type { LayerStats } from './stats.js';

/** Every pruning method. */
export const METHODS = [...SCORE_METHODS, 'sparsegpt', 'sparsegpt-noupdate'] as const;
export type Method = (typeof METHODS)[number];

/** Options for pruning one linear layer. */
export interface LayerPruneOptions {
  method: Method;
  /** In [0, 1); may be omitted for N:M. */
  sparsity?: number;
  pattern?: Pattern | string;
  /** Comparison group of score-based unstructured selection (SparseGPT has its own rule). */
  group?: Group;
  /** STADE's bias correction for `stade` layers (default true). */
  biasCorrection?: boolean;
  /** Seed of `random`. */
  seed?: number;
  /** SparseGPT block size (128) and dampening (0.01). */
  blocksize?: number;
  percdamp?: number;
}

export interface LayerPruneResult {
  weight: Tensor; // [out, in]
  bias: Tensor | null; // [out]
  mask: Uint8Array; // 1 = pruned
  /** Method actually used for this layer (stadew resolves to stade or wanda). */
  method: string;
  biasCorrected: boolean;
}

/** Validates a method name. */
export function checkMethod(m: string): Method {
  if (!(METHODS as readonly string[]).includes(m))
    throw new PruneError(`unknown method ${JSON.stringify(m)}: use one of ${METHODS.join(', ')}`);
  return m as Method;
}

/** Whether a method reads calibration statistics, and whether it needs the Hessian. */
export function methodNeeds(method: Method): { stats: boolean; hessian: boolean } {
  if (method === 'sparsegpt' || method === 'sparsegpt-noupdate') return { stats: true, hessian: true };
  return { stats: method !== 'magnitude' && method !== 'random', hessian: false };
}

/**
 * Prunes one linear layer: scores + mask (+ bias correction) or SparseGPT. Pure: returns new tensors and leaves
 * the inputs untouched.
 */
export function pruneLinear(
  name: string,
  weight: Tensor,
  bias: Tensor | null,
  stats: LayerStats | null,
  opts: LayerPruneOptions,
): LayerPruneResult {
  const method = checkMethod(opts.method);
  if (weight.ndim !== 2)
    throw new PruneError(`${name}: weight must be 2-D [out, in], got [${weight.shape.join(', ')}]`);
  const [out, inp] = weight.shape as [number, number];
  if (method === 'sparsegpt' || method === 'sparsegpt-noupdate') {
    if (!stats?.hasHessian) throw new PruneError(`${name}: ${method} needs the Hessian of the layer's inputs`);
    const r = sparsegpt(weight, stats.finalHessian(), {
      sparsity: opts.sparsity,
      pattern: opts.pattern,
      blocksize: opts.blocksize,
      percdamp: opts.percdamp,
      update: method === 'sparsegpt',
      layerName: name,
    });
    return { weight: r.weight, bias, mask: r.mask, method, biasCorrected: false };
  }
  const eff = effectiveMethod(method as ScoreMethod, name);
  const scores = computeScores(method as ScoreMethod, weight, stats, { layerName: name, seed: opts.seed });
  const mask = selectMask(scores, out, inp, {
    sparsity: opts.sparsity,
    pattern: opts.pattern,
    group: opts.group,
    layerName: name,
  });
  // Nothing pruned (sparsity 0): nothing to correct, and a layer without a bias does not gain one.
  const correct = eff === 'stade' && (opts.biasCorrection ?? true) && mask.includes(1);
  // The correction reads the weights before zeroing (SPEC 6).
  const newBias = correct ? biasCorrection(weight, bias, mask, stats!.mean()) : bias;
  return { weight: applyMask(weight, mask), bias: newBias, mask, method: eff, biasCorrected: correct };
}
