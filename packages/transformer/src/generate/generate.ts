import { Arena } from '@stade/tensor';
import { StadeError } from '../errors.js';
import type { KvCache } from '../layers/kv-cache.js';
import type { CausalLM } from '../model.js';
import { cachedDecoder, forwardCached } from './decoder.js';
import { Sampler, type SamplerOptions } from './sampler.js';

/** Options of `generate`. */
export interface GenerateOptions extends SamplerOptions {
  /** Most tokens to generate (at least 1). */
  maxNewTokens: number;
  /** Stop after producing one of these ids (it is kept in the output, as transformers does). */
  eosIds?: readonly number[];
  /** Called with each new token id as soon as it is chosen (streaming). */
  onToken?: (id: number, index: number) => void;
  /** A cache to reuse (reset first); by default one of prompt + maxNewTokens - 1 positions is made. */
  cache?: KvCache;
}

/** What `generate` produced and how fast. */
export interface GenerateResult {
  /** The generated token ids (without the prompt). */
  ids: Int32Array;
  promptTokens: number;
  /** Seconds for the prompt's forward pass and the first token. */
  prefillSeconds: number;
  /** Seconds for every later token (one single-token forward each). */
  decodeSeconds: number;
  /** Single-token forward passes run (generated tokens - 1). */
  decodeTokens: number;
}

/**
 * Generates up to `maxNewTokens` tokens after `prompt` with a KV cache: one forward pass over the prompt
 * (prefill), then one single-token pass per new token (decode). Greedy at temperature 0.
 */
export function generate(model: CausalLM, prompt: Int32Array, opts: GenerateOptions): GenerateResult {
  const m = cachedDecoder(model);
  const N = opts.maxNewTokens;
  if (!Number.isInteger(N) || N < 1) throw new StadeError(`max new tokens must be an integer >= 1, got ${N}`);
  if (prompt.length === 0) throw new StadeError('generate: the prompt has no tokens');
  const need = prompt.length + N - 1; // the last token is never fed back
  if (need > m.maxPositions) {
    throw new StadeError(
      `a prompt of ${prompt.length} tokens and ${N} new tokens exceed max_position_embeddings ${m.maxPositions}`,
      { key: 'max_position_embeddings' },
    );
  }
  const cache = opts.cache ?? m.newCache(need); // a cache made here is disposed here
  cache.reset();
  const sampler = new Sampler(opts);
  const eos = new Set(opts.eosIds ?? []);
  const out = new Int32Array(N);
  let n = 0;
  const emit = (id: number) => {
    out[n] = id;
    opts.onToken?.(id, n);
    n++;
    return eos.has(id);
  };
  // Every step's activations and logits are lent by one arena and taken back once the sampler has read the
  // logits, so a long generation allocates only in its first steps (the cache and weights live outside it).
  const step = new Arena();
  const next = (ids: Int32Array): number => {
    const id = step.use(() => sampler.next(forwardCached(m, ids, cache, true).values()));
    step.reset();
    return id;
  };
  let t1: number;
  let t2: number;
  const t0 = performance.now();
  try {
    let stop = emit(next(prompt));
    t1 = performance.now();
    const one = new Int32Array(1);
    while (!stop && n < N) {
      one[0] = out[n - 1]!;
      stop = emit(next(one));
    }
    t2 = performance.now();
  } finally {
    step.dispose();
    if (!opts.cache) cache.dispose();
  }
  return {
    ids: out.slice(0, n),
    promptTokens: prompt.length,
    prefillSeconds: (t1 - t0) / 1000,
    decodeSeconds: (t2 - t1) / 1000,
    decodeTokens: n - 1,
  };
}
