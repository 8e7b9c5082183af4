/**
 * Decode attention: a few new query rows (a decode step: usually one) against cached keys and values, every head
 * in one WebAssembly call that reads the cache in place from the resident arena (wasm/arena.ts). A fused op: no
 * per-head dispatch, no allocation beyond the output (the kernel's scratch is the calling thread's arena scratch).
 */

import { parallelFor } from '../parallel/pool.js';
import { allocF32 } from '../storage.js';
import { arenaAlloc, arenaFree, arenaOf, arenaOffset } from '../wasm/arena.js';
import { attnWasm } from '../wasm/attn_runtime.js';

/**
 * Time per query-key-lane step (both products, the softmax share and reading the key and value) in a real decode
 * step, ns, for the pool's split decision. The cache then comes from DRAM: the weights streamed since this block's
 * last step have evicted it. Measured 2026-12-01 (OPT-125M shape, 160 positions, one thread): 12 heads in 93 µs,
 * 0.76 ns a step (0.3 with the cache in L2). At 0.3 a decode step's attention of OPT-125M stayed on one thread;
 * split across two, 51 µs, and whole steps 3-5% faster (alternating steps in one process, 3 of 4 rounds).
 */
const NS_PER_MAC = 0.75;

/** The shapes of a decode attention. */
export interface DecodeAttentionSpec {
  /** Query heads H. */
  readonly heads: number;
  /** Key/value heads KV (H a multiple of KV: query head h reads kv head floor(h / (H / KV))). */
  readonly kvHeads: number;
  /** Head size D (a multiple of 4). */
  readonly headDim: number;
  /** Positions per kv head in the cache arrays (`[KV, maxLen, D]`). */
  readonly maxLen: number;
  /** Valid positions, the T new rows included (they are the last T). */
  readonly length: number;
  /** Sliding window: a query at position p sees keys p - window + 1 .. p; null or absent: every earlier key. */
  readonly window?: number | null;
}

/** True when the cache arrays live in the resident arena and the fused kernel can run on them. */
export function decodeAttentionSupported(keys: Float32Array, values: Float32Array, headDim: number): boolean {
  const arena = arenaOf(keys);
  return headDim % 4 === 0 && arena !== null && arenaOf(values) === arena && attnWasm(arena) !== null;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`decodeAttention: ${what}`);
}

/**
 * softmax(q Kᵀ) V for the T = q.length / (H*D) new rows at positions length - T .. length - 1, causal (a row sees
 * keys up to its own position, within the window). q: `[T, H*D]`, already rotated and scaled; keys, values:
 * `[KV, maxLen, D]` in the resident arena (`decodeAttentionSupported`) -> `[T, H*D]` (written to `out` when given).
 * Softmax in float32 with the row maximum subtracted.
 */
export function decodeAttention(
  q: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  spec: DecodeAttentionSpec,
  out: Float32Array = allocF32(q.length),
): Float32Array {
  const { heads: H, kvHeads: KV, headDim: D, maxLen: L, length: len } = spec;
  const W = spec.window ?? null;
  for (const [k, v] of Object.entries({ H, KV, D, L, len }))
    check(Number.isInteger(v) && v >= 1, `${k} must be a positive integer, got ${v}`);
  check(D % 4 === 0, `head size ${D} is not a multiple of 4`);
  check(H % KV === 0, `${H} heads are not a multiple of ${KV} kv heads`);
  check(W === null || (Number.isInteger(W) && W >= 1), `window must be a positive integer, got ${W}`);
  const T = q.length / (H * D);
  check(Number.isInteger(T) && T >= 1 && T <= len, `q holds ${q.length} values, not 1..${len} rows of ${H * D}`);
  check(len <= L, `length ${len} exceeds the cache's ${L} positions`);
  check(out.length === q.length, `out holds ${out.length} values, expected ${q.length}`);
  const need = KV * L * D;
  check(keys.length >= need && values.length >= need, `keys/values hold fewer than ${need} values`);
  const kp = arenaOffset(keys);
  const vp = arenaOffset(values);
  const arena = arenaOf(keys);
  check(
    kp >= 0 && vp >= 0 && arena !== null && arenaOf(values) === arena && attnWasm(arena) !== null,
    'keys and values must live in one resident arena',
  );
  const seen = W === null ? len : Math.min(W, len); // keys per query row, at most
  const args = { arena: arena!, q, out, kp, vp, H, rep: H / KV, D, L, len, T, W: W === null ? 0 : seen };
  // heads split across the pool only when worth a wake-up (long contexts); decode at short ones runs inline
  parallelFor('attn.decode', args, H, { costPerRow: T * seen * D * NS_PER_MAC });
  return out;
}

/**
 * A zero-filled float32 array of `n` elements in a resident arena (where `decodeAttention` reads caches; in
 * `near`'s arena when given: a block's keys and values must share one), or null where the runtime has no arena
 * or it is full. The caller owns it: `freeResidentF32` returns it.
 */
export function residentF32(n: number, near?: Float32Array): Float32Array | null {
  return arenaAlloc(Float32Array, n, near);
}

/** Returns an array from `residentF32` to the arena. */
export function freeResidentF32(a: Float32Array): void {
  arenaFree(a);
}
