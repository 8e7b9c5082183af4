// @stade/prune public API.
export { PruneError } from './errors.js';
export { Rng, hashSeed } from './rng.js';
export { LayerStats, StatsCollector, type ScoreStats, type Tap } from './stats.js';
export {
  SCORE_METHODS,
  type ScoreMethod,
  type ScoreFn,
  computeScores,
  effectiveMethod,
  isStadewStadeLayer,
  magnitudeScores,
  randomScores,
  stadeScores,
  stadeStarScores,
  wandaScores,
} from './scores/index.js';
export {
  type Group,
  type MaskOptions,
  type Pattern,
  applyMask,
  biasCorrection,
  checkPatternFits,
  checkSparsity,
  countPruned,
  parsePattern,
  resolveSparsity,
  selectMask,
} from './mask.js';
export { type OwlOptions, outlierRatio, owlAllocation } from './owl.js';
export { type SparseGptOptions, type SparseGptResult, sparsegpt } from './sparsegpt.js';
export { METHODS, type LayerPruneOptions, type LayerPruneResult, type Method, checkMethod, methodNeeds, pruneLinear } from './prune-layer.js';
export { checkSeqlen, contiguousWindows, defaultSeqlen, randomWindows } from './calibration.js';
export { type LinearLayer, type PrunableModel, restoreLinears, snapshotLinears } from './model.js';
export { ErrorMeter } from './metrics.js';
export {
  type BlockReport,
  type DenseStats,
  type LayerReport,
  type ProgressEvent,
  type PruneOptions,
  type PruneReport,
  applyPruning,
  collectDenseStats,
  pruneModel,
} from './driver.js';
