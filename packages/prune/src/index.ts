// @stade/prune public API.

export * from './analyze/index.js';
export { checkSeqlen, contiguousWindows, defaultSeqlen, randomWindows } from './calibration.js';
export { applyPruning, collectDenseStats, type DenseStats } from './dense-stats.js';
export {
  type BlockReport,
  type LayerReport,
  type ProgressEvent,
  type PruneOptions,
  type PruneReport,
  pruneModel,
} from './driver.js';
export { PruneError } from './errors.js';
export {
  applyMask,
  biasCorrection,
  checkPatternFits,
  checkSparsity,
  countPruned,
  type Group,
  type MaskOptions,
  type Pattern,
  parsePattern,
  resolveSparsity,
  selectMask,
} from './mask.js';
export { ErrorMeter, LayerErrorTap, type LinearSource } from './metrics.js';
export {
  type BlockSink,
  type FinishedBlock,
  type LinearLayer,
  type PrunableModel,
  restoreLinears,
  snapshotLinears,
} from './model.js';
export { type OwlOptions, outlierRatio, owlAllocation } from './owl.js';
export {
  checkMethod,
  type LayerPruneOptions,
  type LayerPruneResult,
  METHODS,
  type Method,
  methodNeeds,
  pruneLinear,
} from './prune-layer.js';
export { hashSeed, Rng } from './rng.js';
export {
  computeScores,
  effectiveMethod,
  isStadewStadeLayer,
  magnitudeScores,
  randomScores,
  SCORE_METHODS,
  type ScoreFn,
  type ScoreMethod,
  stadeScores,
  stadeStarScores,
  wandaScores,
} from './scores/index.js';
export { type SparseGptOptions, type SparseGptResult, sparsegpt } from './sparsegpt.js';
export { LayerStats, type ScoreStats, StatsCollector, type Tap } from './stats.js';
