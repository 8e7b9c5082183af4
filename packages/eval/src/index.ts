// @stade/eval public API: zero-shot accuracy as lm-evaluation-harness v0.4.x measures it.
export { type ChoiceRecord, lastWordRecords } from './embedded.js';
export { type Encode, type EncodedPair, encodePair } from './encode.js';
export { type RecordRef, ZeroshotError } from './errors.js';
export {
  type DocResult,
  type EvaluateOptions,
  evaluateTask,
  scoreDoc,
  summarize,
  type TaskResult,
} from './evaluate.js';
export { argmax, argmaxNorm, mean, meanStderr } from './metrics.js';
export { pyCapitalize, pyLen, pyLstrip, pyRstrip, pyStrip } from './pystr.js';
export { logLikelihoods, type ScoreOptions, Scorer, type ScoreStats } from './score.js';
export {
  buildDoc,
  buildDocs,
  getTask,
  hellaswagPreprocess,
  type Metric,
  PAPER_TASKS,
  TASKS,
  type TaskDoc,
  type TaskSpec,
} from './tasks.js';
