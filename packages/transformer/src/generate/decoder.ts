import { Arena, copyInto, Tensor } from '@stade/tensor';
import { StadeError } from '../errors.js';
import type { KvCache } from '../layers/kv-cache.js';
import type { CausalLM } from '../model.js';

/** A model that runs new tokens against a KV cache (OptModel and LlamaModel: OPT, Llama, Mistral, Qwen2). */
export interface CachedDecoder extends CausalLM {
  /** A KV cache for up to `maxLen` positions (default and limit: max_position_embeddings). */
  newCache(maxLen?: number): KvCache;
  /** Embeddings `[T, hidden]` of `ids` at positions `start ..`. */
  embedAt(ids: Int32Array, start: number): Tensor;
  /** Block i on new tokens (`[T, hidden]`) at positions `cache.length ..`, appending their keys and values. */
  blockCached(i: number, h: Tensor, cache: KvCache): Tensor;
}

/** True when `model` implements the cached decode path. */
export function isCachedDecoder(model: CausalLM): model is CachedDecoder {
  const m = model as Partial<CachedDecoder>;
  return typeof m.newCache === 'function' && typeof m.embedAt === 'function' && typeof m.blockCached === 'function';
}

/** `model` as a CachedDecoder, or an error naming its model_type. */
export function cachedDecoder(model: CausalLM): CachedDecoder {
  if (!isCachedDecoder(model)) throw new StadeError(`model_type ${model.modelType} has no KV-cached decode path`);
  return model;
}

/**
 * Runs `ids` at positions `cache.length ..` through every block, appending their keys and values, and returns the
 * logits: `[T, vocab]`, or `[1, vocab]` of the last token only when `lastOnly` (what generation needs). A prompt
 * of several tokens runs each block in an arena of its own, reset before the next block: the caller's scope holds
 * the embeddings, the residual stream (two `[T, hidden]` buffers in turn) and the logits, never every block's
 * activations at once (a 1024-token prompt on the 1.1B shape held 10 GB that way). A single-token step has
 * activations of a few hundred KB and runs every block in the caller's scope.
 */
export function forwardCached(model: CachedDecoder, ids: Int32Array, cache: KvCache, lastOnly = false): Tensor {
  const T = ids.length;
  cache.checkRoom(T);
  let h = model.embedAt(ids, cache.length); // [T, hidden]
  if (T === 1) for (let i = 0; i < model.numBlocks; i++) h = model.blockCached(i, h, cache);
  else h = blocksScoped(model, h, cache);
  cache.advance(T);
  return model.head(lastOnly && T > 1 ? h.narrow(0, T - 1, 1).toContiguous() : h); // [T or 1, vocab]
}

/** Every block on `h` (`[T, hidden]`), each in a block arena of its own; the output in the caller's scope. */
function blocksScoped(model: CachedDecoder, h: Tensor, cache: KvCache): Tensor {
  const [T, H] = h.shape as [number, number];
  const carry = [Tensor.zeros([T, H]), Tensor.zeros([T, H])]; // [T, hidden] each: block i writes carry[i % 2]
  const arena = new Arena();
  try {
    for (let i = 0; i < model.numBlocks; i++) {
      const src = h;
      const dst = carry[i % 2]!;
      arena.use(() => copyInto(model.blockCached(i, src, cache), dst.data, dst.offset));
      arena.reset();
      h = dst;
    }
  } finally {
    arena.dispose();
  }
  return h;
}
