import { Tensor } from '@stade/tensor';
import { type CachedDecoder, type CausalLM, crossEntropySum, isCachedDecoder, type KvCache } from '@stade/transformer';
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
  /** Distinct inputs run (one per group of requests where one input is a prefix of the others). */
  forwards: number;
  /** Tokens through the decoder blocks (a context shared through the KV cache counts once). */
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

/** Longest common prefix length of two inputs. */
function commonPrefix(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Rows of `a` then rows of `b`: `[Ta + Tb, hidden]`. */
function concatRows(a: Tensor, b: Tensor): Tensor {
  const [Ta, H] = a.shape as [number, number];
  const Tb = b.shape[0]!;
  const out = new Float32Array((Ta + Tb) * H);
  out.set(a.toContiguous().values(), 0);
  out.set(b.toContiguous().values(), Ta * H);
  return new Tensor(out, [Ta + Tb, H]);
}

/**
 * Scores requests as lm-evaluation-harness's `_loglikelihood_tokens` does (see `logLikelihoods`), sharing work
 * between the requests of one call. Owns a KV cache (grown on demand, reused across calls) for models with a
 * cached decode path.
 */
export class Scorer {
  private cache: KvCache | null = null;
  private readonly maxLength: number;
  private readonly headRows: number;

  constructor(
    readonly model: CausalLM,
    opts: ScoreOptions = {},
    readonly stats?: ScoreStats,
  ) {
    this.maxLength = opts.maxLength ?? model.maxPositions;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1 || this.maxLength > model.maxPositions) {
      throw new ZeroshotError(`maxLength must be an integer in [1, ${model.maxPositions}], got ${this.maxLength}`);
    }
    this.headRows = opts.headRows ?? Math.max(1, Math.floor(2 ** 24 / model.vocabSize));
  }

  /** A KV cache of at least `need` positions (powers of two, at most max_position_embeddings). */
  private cacheFor(m: CachedDecoder, need: number): KvCache {
    if (!this.cache || this.cache.maxLen < need) {
      let len = 64;
      while (len < need) len *= 2;
      this.cache = m.newCache(Math.min(len, m.maxPositions));
    }
    return this.cache;
  }

  /** Hidden states `[T, hidden]` of each group's input; a prefix common to all groups runs once (KV cache). */
  private hidden(inputs: Int32Array[]): Tensor[] {
    const m = this.model;
    const count = (t: number) => {
      if (this.stats) this.stats.tokens += t;
    };
    let P = 0;
    if (inputs.length > 1 && isCachedDecoder(m)) {
      P = inputs.reduce((p, x) => Math.min(p, commonPrefix(inputs[0]!, x), x.length - 1), inputs[0]!.length);
    }
    if (P < 1 || !isCachedDecoder(m)) {
      return inputs.map((x) => {
        let h = m.embed(x); // [T, hidden]
        for (let b = 0; b < m.numBlocks; b++) h = m.block(b, h);
        count(x.length);
        return h;
      });
    }
    const cache = this.cacheFor(m, Math.max(...inputs.map((x) => x.length)));
    cache.reset();
    let hp = m.embedAt(inputs[0]!.subarray(0, P), 0); // [P, hidden]
    for (let b = 0; b < m.numBlocks; b++) hp = m.blockCached(b, hp, cache);
    count(P);
    return inputs.map((x) => {
      cache.reset(); // keeps the prefix's keys and values; positions P.. are overwritten
      cache.advance(P);
      let hs = m.embedAt(x.subarray(P), P); // [T - P, hidden]
      for (let b = 0; b < m.numBlocks; b++) hs = m.blockCached(b, hs, cache);
      count(x.length - P);
      return concatRows(hp, hs);
    });
  }

  /** Log-likelihood of each request's continuation (see `logLikelihoods`). */
  score(requests: readonly EncodedPair[]): number[] {
    const { maxLength, headRows, model } = this;
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
    const hs = this.hidden(groups.map((g) => g.input));
    const lls = new Array<number>(requests.length).fill(0);
    groups.forEach((g, gi) => {
      const h = hs[gi]!;
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
        if (this.stats) this.stats.headRows += cont.length;
      }
      if (this.stats) this.stats.forwards++;
    });
    return lls;
  }
}

/**
 * Log-likelihood of each request's continuation as lm-evaluation-harness's `_loglikelihood_tokens` computes
 * it: the input is left-truncated to `maxLength` tokens, and the continuation's log-probabilities (float64 log
 * softmax of the float32 logits) are summed. Requests whose input is a prefix of another's share its forward
 * pass (exact under causal attention), e.g. every choice of a question with one-token answers; the remaining
 * inputs' common prefix (the shared context) runs once and each continues from it through a KV cache (exact:
 * causal attention over the same keys); the head runs only on the continuation rows. `stats`, when given,
 * accumulates the work done. For many calls, keep one `Scorer` (it reuses its KV cache).
 */
export function logLikelihoods(
  model: CausalLM,
  requests: readonly EncodedPair[],
  opts: ScoreOptions = {},
  stats?: ScoreStats,
): number[] {
  return new Scorer(model, opts, stats).score(requests);
}
