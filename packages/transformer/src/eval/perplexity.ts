import { Arena, allocF32, Tensor } from '@stade/tensor';
import { StadeError } from '../errors.js';
import type { CausalLM, TensorSource } from '../model.js';

/** How `perplexity` walks the model: one window through all blocks at a time, or one block over all windows. */
export type EvalMode = 'auto' | 'window' | 'block';

/** `auto` picks block mode when the model's float32 parameters exceed this many bytes (2 GiB). */
export const DEFAULT_WEIGHT_BUDGET = 2 * 2 ** 30;
/** Block mode keeps at most this many bytes of hidden states at once (1 GiB), in groups of windows. */
export const DEFAULT_HIDDEN_BUDGET = 2 ** 30;

/** Options of `perplexity`. */
export interface PerplexityOptions {
  /** Window length in tokens (>= 2, at most the model's max_position_embeddings). */
  seqlen: number;
  /**
   * 'window' (each window through every block; weights stay cached), 'block' (each block over all windows, then
   * `releaseBlock`: one block of weights in memory) or 'auto' (default): see `resolveEvalMode`.
   */
  mode?: EvalMode;
  /** Parameter bytes above which 'auto' picks block mode (default DEFAULT_WEIGHT_BUDGET). */
  weightBudgetBytes?: number;
  /** Hidden-state bytes block mode holds at once (default DEFAULT_HIDDEN_BUDGET); windows beyond it run in groups. */
  hiddenBudgetBytes?: number;
  /** Called after each step with the steps done and their total (see `perplexitySteps`). */
  onProgress?: (done: number, total: number) => void;
  /** Rows of logits computed at once by the head (bounds memory: rows x vocab floats). Default: 2^26 / vocab (256 MB). */
  headRows?: number;
}

/** The result of `perplexity`. */
export interface PerplexityResult {
  ppl: number;
  /** Number of windows evaluated (n = floor(tokens / seqlen)). */
  windows: number;
  seqlen: number;
  /** Mean negative log-likelihood per token as SPEC 9 weighs it: sum(loss * seqlen) / (n * seqlen); ppl = exp(nll). */
  nll: number;
  /** Each window's mean cross-entropy over its seqlen - 1 predictions. */
  losses: number[];
  /** The mode that ran. */
  mode: 'window' | 'block';
}

/** Bytes of the model's parameters as float32 (4 per element), from its tensor source's headers; null if unknown. */
export function parameterBytes(model: CausalLM): number | null {
  const src = (model as { source?: TensorSource }).source;
  if (!src || typeof src.names !== 'function' || typeof src.info !== 'function') return null;
  let n = 0;
  for (const name of src.names()) n += src.info(name).shape.reduce((a, d) => a * d, 1);
  return n * 4;
}

/**
 * The mode `perplexity` runs: 'auto' is 'block' when the model's float32 parameter bytes exceed the weight budget
 * (2 GiB by default: caching every block's weights for the whole run would not comfortably fit), else 'window'.
 * Both give the same perplexity; block mode holds one block of weights plus the windows' hidden states.
 */
export function resolveEvalMode(
  model: CausalLM,
  mode: EvalMode = 'auto',
  weightBudgetBytes = DEFAULT_WEIGHT_BUDGET,
): 'window' | 'block' {
  if (mode === 'window' || mode === 'block') return mode;
  if (mode !== 'auto')
    throw new StadeError(`perplexity: mode must be auto, window or block, got ${String(mode)}`, { key: 'mode' });
  const bytes = parameterBytes(model);
  return bytes !== null && bytes > weightBudgetBytes ? 'block' : 'window';
}

/** Steps `onProgress` counts: `windows` in window mode; in block mode every block of every group, then each window's head. */
export function perplexitySteps(
  model: CausalLM,
  windows: number,
  mode: 'window' | 'block',
  seqlen: number,
  hiddenBudgetBytes = DEFAULT_HIDDEN_BUDGET,
): number {
  return mode === 'window' ? windows : groupsOf(model, windows, seqlen, hiddenBudgetBytes) * model.numBlocks + windows;
}

function groupSize(model: CausalLM, seqlen: number, hiddenBudgetBytes: number): number {
  return Math.max(1, Math.floor(hiddenBudgetBytes / (seqlen * model.hiddenSize * 4)));
}

function groupsOf(model: CausalLM, windows: number, seqlen: number, hiddenBudgetBytes: number): number {
  return Math.ceil(windows / groupSize(model, seqlen, hiddenBudgetBytes));
}

/**
 * Sum over rows r of `logsumexp(logits[r]) - logits[r, target[r]]` in float64 (`logits`: `[rows, vocab]`).
 */
export function crossEntropySum(logits: Tensor, targets: Int32Array): number {
  const [rows, V] = logits.shape as [number, number];
  const x = logits.values();
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (x[o + j]! > max) max = x[o + j]!;
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(x[o + j]! - max);
    total += max + Math.log(s) - x[o + targets[r]!]!;
  }
  return total;
}

/**
 * Perplexity by the WikiText-2 protocol of Wanda/SparseGPT (SPEC 9): `n = floor(len / seqlen)` non-overlapping
 * windows (the remainder is dropped); each window's loss is the mean cross-entropy of its seqlen - 1 next-token
 * predictions; `ppl = exp(sum(loss * seqlen) / (n * seqlen))`. Window and block mode compute the same numbers
 * (each window's blocks run on the same inputs in the same order); only what stays in memory differs.
 */
export function perplexity(model: CausalLM, ids: Int32Array, opts: PerplexityOptions): PerplexityResult {
  const { seqlen } = opts;
  const headRows = opts.headRows ?? Math.max(1, Math.floor(2 ** 26 / model.vocabSize));
  if (!Number.isInteger(seqlen) || seqlen < 2)
    throw new StadeError(`perplexity: seqlen must be an integer >= 2, got ${seqlen}`, { key: 'seqlen' });
  if (seqlen > model.maxPositions) {
    throw new StadeError(
      `perplexity: seqlen ${seqlen} exceeds the model's max_position_embeddings ${model.maxPositions}`,
      { key: 'seqlen' },
    );
  }
  if (!Number.isInteger(headRows) || headRows < 1)
    throw new StadeError(`perplexity: headRows must be a positive integer, got ${headRows}`);
  const hiddenBudget = opts.hiddenBudgetBytes ?? DEFAULT_HIDDEN_BUDGET;
  if (!(hiddenBudget > 0)) throw new StadeError(`perplexity: hiddenBudgetBytes must be positive, got ${hiddenBudget}`);
  const mode = resolveEvalMode(model, opts.mode, opts.weightBudgetBytes);
  const n = Math.floor(ids.length / seqlen);
  if (n < 1) {
    throw new StadeError(
      `perplexity: ${ids.length} tokens are fewer than one window of seqlen ${seqlen} (need at least ${seqlen})`,
      {
        key: 'seqlen',
      },
    );
  }
  // Memory has an owner: everything this call allocates is lent by `run` (disposed at the end: its buffers go to
  // the recycler for the next call); block mode runs each block in `perBlock`, reset once the block was released,
  // so from the second block on nothing new is allocated, whatever the number of blocks and windows.
  const run = new Arena();
  const perBlock = new Arena();
  let losses: number[];
  try {
    losses = run.use(() => windowLosses(model, ids, { n, seqlen, mode, headRows, hiddenBudget, perBlock }, opts));
  } finally {
    perBlock.dispose();
    run.dispose();
  }
  let sum = 0;
  for (const loss of losses) sum += loss * seqlen;
  const nll = sum / (n * seqlen);
  return { ppl: Math.exp(nll), windows: n, seqlen, nll, losses, mode };
}

/** Each window's loss (see `perplexity`) in window or block mode; `perBlock` owns one block's memory in block mode. */
function windowLosses(
  model: CausalLM,
  ids: Int32Array,
  o: { n: number; seqlen: number; mode: 'window' | 'block'; headRows: number; hiddenBudget: number; perBlock: Arena },
  opts: PerplexityOptions,
): number[] {
  const { n, seqlen, mode, headRows, hiddenBudget, perBlock } = o;
  const total = perplexitySteps(model, n, mode, seqlen, hiddenBudget);
  let step = 0;
  const progress = () => opts.onProgress?.(++step, total);
  // One logits buffer for every head call: views of exactly [rows, vocab] at offset 0.
  const logitsBuf = allocF32(Math.min(headRows, seqlen - 1) * model.vocabSize);
  const windowLoss = (w: number, h: Tensor): number => {
    const x = ids.subarray(w * seqlen, (w + 1) * seqlen);
    // logits of positions 0..seqlen-2 predict tokens 1..seqlen-1, a few rows at a time
    let nll = 0;
    for (let r = 0; r < seqlen - 1; r += headRows) {
      const rows = Math.min(headRows, seqlen - 1 - r);
      const out = new Tensor(new Float32Array(logitsBuf.buffer, 0, rows * model.vocabSize), [rows, model.vocabSize]);
      const logits = model.head(h.narrow(0, r, rows), out); // [rows, vocab]
      nll += crossEntropySum(logits, x.subarray(r + 1, r + 1 + rows));
    }
    return nll / (seqlen - 1);
  };
  const losses: number[] = [];
  const window = (w: number) => ids.subarray(w * seqlen, (w + 1) * seqlen);
  if (mode === 'window') {
    const h = Tensor.zeros([seqlen, model.hiddenSize]); // [seqlen, hidden], reused by every window
    for (let w = 0; w < n; w++) {
      let hw = model.embed(window(w), h); // h itself (a model that ignores `out` returns its own tensors)
      for (let i = 0; i < model.numBlocks; i++) hw = model.block(i, hw, { out: hw });
      losses.push(windowLoss(w, hw));
      progress();
    }
  } else {
    // Block mode: the hidden states of a group of windows stay in memory; each block runs over all of them and
    // is then released, so one block of weights is cached at a time (groups bound the hidden-state memory).
    const g = Math.min(n, groupSize(model, seqlen, hiddenBudget));
    const hs = Array.from({ length: g }, () => Tensor.zeros([seqlen, model.hiddenSize])); // each [seqlen, hidden]
    for (let w0 = 0; w0 < n; w0 += g) {
      const m = Math.min(g, n - w0);
      for (let j = 0; j < m; j++) hs[j] = model.embed(window(w0 + j), hs[j]);
      for (let i = 0; i < model.numBlocks; i++) {
        perBlock.use(() => {
          for (let j = 0; j < m; j++) hs[j] = model.block(i, hs[j]!, { out: hs[j] });
          model.releaseBlock(i);
        });
        perBlock.reset();
        progress();
      }
      for (let j = 0; j < m; j++) {
        losses.push(windowLoss(w0 + j, hs[j]!));
        progress();
      }
    }
  }
  return losses;
}
