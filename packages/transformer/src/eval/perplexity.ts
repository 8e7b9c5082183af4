import type { Tensor } from '@stade/tensor';
import { StadeError } from '../errors.js';
import type { CausalLM } from '../model.js';

/** Options of `perplexity`. */
export interface PerplexityOptions {
  /** Window length in tokens (>= 2, at most the model's max_position_embeddings). */
  seqlen: number;
  /** Called after each window with the number of windows done and the total. */
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
 * predictions; `ppl = exp(sum(loss * seqlen) / (n * seqlen))`.
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
  const n = Math.floor(ids.length / seqlen);
  if (n < 1) {
    throw new StadeError(
      `perplexity: ${ids.length} tokens are fewer than one window of seqlen ${seqlen} (need at least ${seqlen})`,
      {
        key: 'seqlen',
      },
    );
  }
  const losses: number[] = [];
  let sum = 0;
  for (let w = 0; w < n; w++) {
    const x = ids.subarray(w * seqlen, (w + 1) * seqlen);
    let h = model.embed(x); // [seqlen, hidden]
    for (let i = 0; i < model.numBlocks; i++) h = model.block(i, h);
    // logits of positions 0..seqlen-2 predict tokens 1..seqlen-1, a few rows at a time
    let nll = 0;
    for (let r = 0; r < seqlen - 1; r += headRows) {
      const rows = Math.min(headRows, seqlen - 1 - r);
      const logits = model.head(h.narrow(0, r, rows)); // [rows, vocab]
      nll += crossEntropySum(logits, x.subarray(r + 1, r + 1 + rows));
    }
    const loss = nll / (seqlen - 1);
    losses.push(loss);
    sum += loss * seqlen;
    opts.onProgress?.(w + 1, n);
  }
  const nll = sum / (n * seqlen);
  return { ppl: Math.exp(nll), windows: n, seqlen, nll, losses };
}
