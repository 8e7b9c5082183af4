// `stade analyze`: the STADE paper's per-layer theory, computed and measured on a model before pruning.
export {
  type ColumnMoments,
  columnMoments,
  crossError,
  diagonalError,
  meanNorm,
  noncentredness,
  secondMomentMatrix,
} from './closed-form.js';
export {
  type AnalyzeTarget,
  analyzeLinear,
  type LinearAnalysis,
  type PredictedError,
  type PrunedLinear,
} from './layer.js';
export { TokenRelativeMeter } from './measure.js';
export {
  type AnalyzeOptions,
  type AnalyzeReport,
  type AnalyzeSummary,
  analyzeModel,
  type BlockAnalysis,
  type LayerAnalysisReport,
} from './model.js';
export {
  type LayerFigures,
  type ModelFigures,
  type Recommendation,
  recommendLayer,
  recommendModel,
} from './recommend.js';
