import {
  allocF32,
  applyRotary,
  decodeAttention,
  decodeAttentionSupported,
  freeResidentF32,
  matmul,
  residentF32,
  scale as scaleOp,
  softmax,
  Tensor,
} from '@stade/tensor';
import { StadeError } from '../errors.js';
import type { AttentionSpec } from './attention.js';

/**
 * The keys and values of every block for up to `maxLen` positions, allocated once when the cache is made
 * (the cache owns this memory; nothing grows while generating). Keys are stored after the rotary embedding.
 * `length` positions are filled; a forward step appends its tokens to every block, then calls `advance`.
 * Where it can, the cache lives in the resident arena, where the fused decode attention reads it in place
 * (`resident`); `dispose` returns that memory (the cache is unusable afterwards).
 */
export class KvCache {
  /** Per block: keys `[kvHeads, maxLen, headDim]`, row-major. */
  readonly keys: Float32Array[] = [];
  /** Per block: values `[kvHeads, maxLen, headDim]`, row-major. */
  readonly values: Float32Array[] = [];
  /** True when keys and values live in the resident arena (decode steps use the fused attention). */
  readonly resident: boolean;
  private filled = 0;
  private disposed = false;

  constructor(
    readonly numBlocks: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly maxLen: number,
  ) {
    for (const [what, n] of [
      ['numBlocks', numBlocks],
      ['kvHeads', kvHeads],
      ['headDim', headDim],
      ['maxLen', maxLen],
    ] as const) {
      if (!Number.isInteger(n) || n < 1) throw new StadeError(`KvCache: ${what} must be a positive integer, got ${n}`);
    }
    const per = kvHeads * maxLen * headDim;
    for (let i = 0; i < 2 * numBlocks; i++) {
      const a = residentF32(per, i % 2 ? this.keys[this.keys.length - 1] : undefined); // values beside keys
      if (!a) break;
      (i % 2 ? this.values : this.keys).push(a);
    }
    this.resident = this.values.length === numBlocks;
    if (!this.resident) {
      // no arena here, or it is full: every block in ordinary memory
      for (const a of [...this.keys, ...this.values]) freeResidentF32(a);
      this.keys.length = 0;
      this.values.length = 0;
      for (let i = 0; i < numBlocks; i++) {
        this.keys.push(allocF32(per));
        this.values.push(allocF32(per));
      }
    }
    for (const a of [...this.keys, ...this.values]) touchPages(a);
  }

  /** Frees the cache's memory (returns it to the resident arena); the cache cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.resident) for (const a of [...this.keys, ...this.values]) freeResidentF32(a);
    this.keys.length = 0;
    this.values.length = 0;
    this.filled = 0;
  }

  /** Positions filled so far (the position of the next token). */
  get length(): number {
    return this.filled;
  }

  /** Bytes held by the cache. */
  get bytes(): number {
    return 2 * this.numBlocks * this.kvHeads * this.maxLen * this.headDim * 4;
  }

  /** Checks that `T` more tokens fit. */
  checkRoom(T: number): void {
    if (this.disposed) throw new StadeError('KV cache: used after dispose');
    if (T < 1 || this.filled + T > this.maxLen) {
      throw new StadeError(
        `KV cache: ${T} more tokens after ${this.filled} exceed its capacity of ${this.maxLen} positions`,
      );
    }
  }

  /** Marks `T` more positions as filled (after every block has appended them). */
  advance(T: number): void {
    this.checkRoom(T);
    this.filled += T;
  }

  /** Forgets every position (the memory is kept for the next sequence). */
  reset(): void {
    this.filled = 0;
  }
}

/**
 * Writes a zero into every 4 KiB page of `a` (whose elements are all zero already): fresh memory is mapped only
 * when first written, and on a VM that fault costs tens of µs; a decode step writes each block's new keys and
 * values into a new page every few steps, so an untouched cache put page faults into the steps (OPT-125M's shape:
 * about 80% of the attention's own JavaScript time). The cache is sized to the positions a run needs, so it is
 * committed at once, as llama.cpp clears its KV buffer when it makes it.
 */
function touchPages(a: Float32Array): void {
  for (let i = 0; i < a.length; i += 1024) a[i] = 0;
  if (a.length > 0) a[a.length - 1] = 0; // the last page, when the array does not start on a page
}

/** `[T, H*D]` -> contiguous `[H, T, D]`, rotated when tables are given. */
function splitHeads(x: Tensor, H: number, D: number, rotary: AttentionSpec['rotary']): Tensor {
  const T = x.shape[0]!;
  const v = x.reshape([T, H, D]).permute([1, 0, 2]); // [H, T, D]
  return rotary ? applyRotary(v, rotary.cos, rotary.sin) : v.toContiguous();
}

/** At most this many new tokens (decode steps) use the fused decode attention on a resident cache. */
const DECODE_ROWS = 4;

/** Query rows per score block (scores take `[QUERY_BLOCK, keys]` at a time). */
const QUERY_BLOCK = 256;

/**
 * Causal self-attention of `T` new tokens at positions `cache.length ..` of block `block`, as `causalAttention`
 * computes it for a whole sequence: the new keys and values are appended to the cache, and each query attends to
 * every cached key up to its own position (within the sliding window when `spec.window` is set). `spec.rotary`
 * holds the tables of the new positions (`[T, headDim]`). q: `[T, H*D]`, k and v: `[T, KV*D]` -> `[T, H*D]`.
 * The cache's `length` is not advanced here (every block of a step sees the same start position). A decode step
 * (at most DECODE_ROWS tokens) on a resident cache runs every head in one fused kernel (`decodeAttention`).
 */
export function cachedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  cache: KvCache,
  block: number,
  spec: AttentionSpec,
): Tensor {
  const { heads: H, kvHeads: KV, headDim: D } = spec;
  const T = q.shape[0]!;
  if (KV !== cache.kvHeads || D !== cache.headDim)
    throw new StadeError(`KV cache holds ${cache.kvHeads} heads of ${cache.headDim}, the attention has ${KV} of ${D}`);
  cache.checkRoom(T);
  const pos = cache.length;
  const L = cache.maxLen;
  const kc = cache.keys[block]!;
  const vc = cache.values[block]!;
  const kh = splitHeads(k, KV, D, spec.rotary).values(); // [KV, T, D]
  const vh = splitHeads(v, KV, D, null).values(); // [KV, T, D]
  for (let g = 0; g < KV; g++) {
    kc.set(kh.subarray(g * T * D, (g + 1) * T * D), (g * L + pos) * D);
    vc.set(vh.subarray(g * T * D, (g + 1) * T * D), (g * L + pos) * D);
  }
  const qh = scaleOp(splitHeads(q, H, D, spec.rotary), spec.scale); // [H, T, D]
  const W = spec.window ?? null;
  if (T <= DECODE_ROWS && decodeAttentionSupported(kc, vc, D)) {
    const qt = T === 1 ? qh : qh.permute([1, 0, 2]).toContiguous(); // [T, H, D]
    const o = decodeAttention(qt.values(), kc, vc, {
      heads: H,
      kvHeads: KV,
      headDim: D,
      maxLen: L,
      length: pos + T,
      window: W,
    });
    return new Tensor(o, [T, H * D]);
  }
  const rep = H / KV;
  const out = allocF32(T * H * D); // [T, H*D]
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    for (let r0 = 0; r0 < T; r0 += QUERY_BLOCK) {
      const n = Math.min(T, r0 + QUERY_BLOCK) - r0;
      const a0 = pos + r0; // absolute position of the block's first query
      const k0 = W === null ? 0 : Math.max(0, a0 - W + 1);
      const S = a0 + n - k0; // keys k0 .. a0+n-1
      const kb = new Tensor(kc, [S, D], [D, 1], (g * L + k0) * D); // [S, D]
      const vb = new Tensor(vc, [S, D], [D, 1], (g * L + k0) * D); // [S, D]
      const s = matmul(qh.select(0, h).narrow(0, r0, n), kb.transpose()); // [n, S]
      if (W !== null) {
        const sd = s.values();
        for (let i = 0; i < n; i++) {
          const last = a0 + i - W - k0; // last local column outside query a0+i's window
          for (let j = 0; j <= last; j++) sd[i * S + j] = -Infinity;
        }
      }
      // causal with n <= S: local row i sees columns j <= i + S - n, i.e. keys up to a0 + i
      const o = matmul(softmax(s, { causal: true }), vb).values(); // [n, D]
      for (let i = 0; i < n; i++) out.set(o.subarray(i * D, (i + 1) * D), (r0 + i) * H * D + h * D);
    }
  }
  return new Tensor(out, [T, H * D]);
}

/** Checks a cache length against the model's max_position_embeddings. */
export function checkCacheLength(maxLen: number, maxPositions: number): void {
  if (!Number.isInteger(maxLen) || maxLen < 1 || maxLen > maxPositions) {
    throw new StadeError(
      `KV cache length ${maxLen} must be an integer in [1, ${maxPositions}] (max_position_embeddings)`,
      { key: 'max_position_embeddings' },
    );
  }
}

/** Checks that `T` tokens starting at position `start` stay within max_position_embeddings. */
export function checkPositions(T: number, start: number, maxPositions: number): void {
  if (!Number.isInteger(start) || start < 0 || start + T > maxPositions) {
    throw new StadeError(`positions ${start}..${start + T - 1} exceed max_position_embeddings ${maxPositions}`, {
      key: 'max_position_embeddings',
    });
  }
}
