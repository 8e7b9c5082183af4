import type { CausalLM } from '@stade/transformer';
import { type Encode, encodePair } from './encode.js';
import { argmax, argmaxNorm, mean, meanStderr } from './metrics.js';
import { type ScoreOptions, Scorer, type ScoreStats } from './score.js';
import type { TaskDoc, TaskSpec } from './tasks.js';

/** One scored document (the `--samples` line). */
export interface DocResult {
  task: string;
  /** 0-based position in the task's file. */
  doc: number;
  lls: number[];
  gold: number;
  pred: number;
  /** acc_norm's prediction, for tasks that report acc_norm; otherwise null. */
  pred_norm: number | null;
}

/** A task's metrics, named as the harness names them. */
export interface TaskResult {
  n: number;
  acc: number;
  acc_stderr: number | null;
  acc_norm?: number;
  acc_norm_stderr?: number | null;
}

/** Options of `evaluateTask`. */
export interface EvaluateOptions extends ScoreOptions {
  /** The tokenizer's BOS id to put in front of every input (the harness's add_bos_token), or null. */
  bos?: number | null;
  /** Called after each document. */
  onDoc?: (done: number, total: number) => void;
  /** Accumulates the forward passes and tokens (tokens/s). */
  stats?: ScoreStats;
  /** A scorer to reuse across documents and tasks (it owns its buffers); made from the options when absent. */
  scorer?: Scorer;
}

/** A document's result from its choices' log-likelihoods. */
function resultOf(task: TaskSpec, doc: TaskDoc, index: number, lls: number[]): DocResult {
  const norm = task.metrics.includes('acc_norm');
  return {
    task: task.name,
    doc: index,
    lls,
    gold: doc.gold,
    pred: argmax(lls),
    pred_norm: norm ? argmaxNorm(lls, doc.choices) : null,
  };
}

/** The encoded requests of a document. */
function pairsOf(encode: Encode, doc: TaskDoc, bos: number | null | undefined) {
  return doc.requests.map((r) => encodePair(encode, r.context, r.continuation, bos ?? null));
}

/** Scores one document: the log-likelihood of each choice, acc's and acc_norm's predictions. */
export function scoreDoc(
  model: CausalLM,
  encode: Encode,
  task: TaskSpec,
  doc: TaskDoc,
  index: number,
  opts: EvaluateOptions = {},
): DocResult {
  const lls = (opts.scorer ?? new Scorer(model, opts, opts.stats)).score(pairsOf(encode, doc, opts.bos));
  return resultOf(task, doc, index, lls);
}

/** Documents scored per `Scorer.scoreDocs` call by `evaluateTask` (packed into forwards of `batchRows` rows). */
const DOCS_PER_CALL = 64;

/** Aggregates scored documents into the task's metrics (mean and the harness's standard error). */
export function summarize(task: TaskSpec, docs: readonly DocResult[]): TaskResult {
  const acc = docs.map((d) => (d.pred === d.gold ? 1 : 0));
  const out: TaskResult = { n: docs.length, acc: mean(acc), acc_stderr: meanStderr(acc) };
  if (task.metrics.includes('acc_norm')) {
    const accNorm = docs.map((d) => (d.pred_norm === d.gold ? 1 : 0));
    out.acc_norm = mean(accNorm);
    out.acc_norm_stderr = meanStderr(accNorm);
  }
  return out;
}

/** Scores every document of a task (several documents per packed forward) and aggregates: `{ result, samples }`. */
export function evaluateTask(
  model: CausalLM,
  encode: Encode,
  task: TaskSpec,
  docs: readonly TaskDoc[],
  opts: EvaluateOptions = {},
): { result: TaskResult; samples: DocResult[] } {
  const samples: DocResult[] = [];
  const scorer = opts.scorer ?? new Scorer(model, opts, opts.stats);
  for (let i0 = 0; i0 < docs.length; i0 += DOCS_PER_CALL) {
    const chunk = docs.slice(i0, i0 + DOCS_PER_CALL);
    const lls = scorer.scoreDocs(chunk.map((d) => pairsOf(encode, d, opts.bos)));
    chunk.forEach((d, j) => {
      samples.push(resultOf(task, d, i0 + j, lls[j]!));
      opts.onDoc?.(i0 + j + 1, docs.length);
    });
  }
  return { result: summarize(task, samples), samples };
}
