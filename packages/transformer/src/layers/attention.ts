import { allocF32, applyRotary, matmul, scale as scaleOp, softmax, Tensor } from '@stade/tensor';

/** Shape and options of an eager causal self-attention. */
export interface AttentionSpec {
  heads: number;
  kvHeads: number; // heads / kvHeads query heads share one key/value head (grouped-query attention)
  headDim: number;
  /** Multiplies q (equivalently q k^T; transformers: `head_dim ** -0.5`). */
  scale: number;
  /** Rotary tables `[T, headDim]` applied to q and k (Llama family), or null (OPT). */
  rotary?: { cos: Tensor; sin: Tensor } | null;
  /** Sliding window W: query i sees keys j with i - W < j <= i (Mistral); null for plain causal. */
  window?: number | null;
}

/** Splits `[T, H*D]` into heads: `[H, T, D]` (rotated when tables are given), contiguous. */
function heads(x: Tensor, H: number, D: number, rotary: { cos: Tensor; sin: Tensor } | null | undefined): Tensor {
  const T = x.shape[0]!;
  const v = x.reshape([T, H, D]).permute([1, 0, 2]); // [H, T, D]
  return rotary ? applyRotary(v, rotary.cos, rotary.sin) : v.toContiguous();
}

/** Query rows per score block: causal blocks skip the keys after the block (about half of the T x T work). */
const QUERY_BLOCK = 256;

/**
 * Eager causal attention as transformers' `eager_attention_forward`: per head, softmax(q k^T * scale + mask) v,
 * key/value heads shared by `heads / kvHeads` query heads (grouped-query attention). q: `[T, H*D]`, k and v:
 * `[T, KV*D]` -> `[T, H*D]`. Queries run in blocks of rows against only the keys they can see (a causal block
 * [r0, r1) sees keys [k0, r1), k0 > 0 only with a sliding window), so scores take `[256, T]` at a time.
 */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec): Tensor {
  const { heads: H, kvHeads: KV, headDim: D, scale } = spec;
  const T = q.shape[0]!;
  const rep = H / KV;
  const qh = scaleOp(heads(q, H, D, spec.rotary), scale); // [H, T, D], q * scale as transformers' OPT does
  const kh = heads(k, KV, D, spec.rotary); // [KV, T, D]
  const vh = heads(v, KV, D, null); // [KV, T, D]
  const out = allocF32(T * H * D); // [T, H*D]
  const W = spec.window ?? null;
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    for (let r0 = 0; r0 < T; r0 += QUERY_BLOCK) {
      const r1 = Math.min(T, r0 + QUERY_BLOCK);
      const n = r1 - r0;
      const k0 = W === null ? 0 : Math.max(0, r0 - W + 1);
      const S = r1 - k0;
      const qb = qh.select(0, h).narrow(0, r0, n); // [n, D]
      const kb = kh.select(0, g).narrow(0, k0, S); // [S, D]
      const s = matmul(qb, kb.transpose()); // [n, S]
      if (W !== null) {
        // query r0+i sees keys j with r0+i - W < j: mask columns k0..r0+i-W
        const sd = s.values();
        for (let i = 0; i < n; i++) {
          const last = r0 + i - W - k0; // last masked column (local)
          for (let j = 0; j <= last; j++) sd[i * S + j] = -Infinity;
        }
      }
      // causal with n <= S: local row i sees columns j <= i + S - n, i.e. keys up to r0 + i
      const p = softmax(s, { causal: true }); // [n, S]
      const o = matmul(p, vh.select(0, g).narrow(0, k0, S)).values(); // [n, D]
      for (let i = 0; i < n; i++) out.set(o.subarray(i * D, (i + 1) * D), (r0 + i) * H * D + h * D);
    }
  }
  return new Tensor(out, [T, H * D]);
}
