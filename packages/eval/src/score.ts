import { type CausalLM, crossEntropySum } from '@stade/transformer';
import type { EncodedPair } from './encode.js';
import { ZeroshotError } from './errors.js';

/** Options of `logLikelihoods`. */
export interface ScoreOptions {
  /** Longest input (the harness's max_length); default and maximum: the model's max_position_embeddings. */
  maxLength?: number;
  /** Rows of logits computed at once by the head (bounds memory: rows x vocab floats). Default: 2^24 / vocab. */
  headRows?: number;
}

/** Counters of the work `logLikelihoods` did (for tokens/s figures). */
export interface ScoreStats {
  /** Forward passes run (one per group of requests sharing an input). */
  forwards: number;
  /** Tokens through the decoder blocks. */
  tokens: number;
  /** Rows of logits computed by the head. */
  headRows: number;
}

/** The model input of a request as the harness builds it: `(context + continuation)[-(max + 1):][:-1]`. */
function inputOf(r: EncodedPair, maxLength: number): Int32Array {
  const full = new Int32Array(r.context.length + r.continuation.length);
  full.set(r.context, 0);
  full.set(r.continuation, r.context.length);
  return full.slice(Math.max(0, full.length - maxLength - 1), full.length - 1);
}

function startsWith(a: Int32Array, prefix: Int32Array): boolean {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/**
 * Log-likelihood of each request's continuation as lm-evaluation-harness's `_loglikelihood_tokens` computes
 * it: the input is left-truncated to `maxLength` tokens, and the continuation's log-probabilities (float64 log
 * softmax of the float32 logits) are summed. Requests whose input is a prefix of another's share its forward
 * pass (exact under causal attention), e.g. every choice of a question with one-token answers; the head runs
 * only on the continuation rows. `stats`, when given, accumulates the work done.
 */
export function logLikelihoods(
  model: CausalLM,
  requests: readonly EncodedPair[],
  opts: ScoreOptions = {},
  stats?: ScoreStats,
): number[] {
  const maxLength = opts.maxLength ?? model.maxPositions;
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > model.maxPositions) {
    throw new ZeroshotError(`maxLength must be an integer in [1, ${model.maxPositions}], got ${maxLength}`);
  }
  const headRows = opts.headRows ?? Math.max(1, Math.floor(2 ** 24 / model.vocabSize));
  const inputs = requests.map((r) => {
    if (r.context.length === 0 || r.continuation.length === 0)
      throw new ZeroshotError('logLikelihoods: a request has an empty context or continuation');
    if (r.continuation.length > maxLength) {
      throw new ZeroshotError(
        `a continuation of ${r.continuation.length} tokens is longer than the maximum length ${maxLength}`,
      );
    }
    return inputOf(r, maxLength);
  });
  // groups: the longest input first; a request joins a group whose input starts with its own
  const order = inputs.map((_, i) => i).sort((a, b) => inputs[b]!.length - inputs[a]!.length || a - b);
  const groups: { input: Int32Array; members: number[] }[] = [];
  for (const i of order) {
    const g = groups.find((g) => startsWith(g.input, inputs[i]!));
    if (g) g.members.push(i);
    else groups.push({ input: inputs[i]!, members: [i] });
  }
  const lls = new Array<number>(requests.length).fill(0);
  for (const g of groups) {
    let h = model.embed(g.input); // [T, hidden]
    for (let b = 0; b < model.numBlocks; b++) h = model.block(b, h);
    for (const i of g.members) {
      const cont = requests[i]!.continuation;
      const T = inputs[i]!.length; // rows T - |cont| .. T - 1 predict the continuation
      let ll = 0;
      for (let r = 0; r < cont.length; r += headRows) {
        const rows = Math.min(headRows, cont.length - r);
        const logits = model.head(h.narrow(0, T - cont.length + r, rows)); // [rows, vocab]
        ll -= crossEntropySum(logits, cont.subarray(r, r + rows));
      }
      lls[i] = ll;
      if (stats) stats.headRows += cont.length;
    }
    if (stats) {
      stats.forwards++;
      stats.tokens += g.input.length;
    }
  }
  return lls;
}
