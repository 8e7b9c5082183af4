import { Tensor, allocF32, applyRotary, matmul, scale as scaleOp, softmax } from '@stade/tensor';

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

/**
 * Eager causal attention as transformers' `eager_attention_forward`: per head, softmax(q k^T * scale + mask) v,
 * key/value heads repeated for grouped-query attention. q: `[T, H*D]`, k and v: `[T, KV*D]` -> `[T, H*D]`.
 * Runs one key/value group at a time so the score matrix is `[heads/kvHeads * T, T]`, not `[H, T, T]`.
 */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec): Tensor {
  const { heads: H, kvHeads: KV, headDim: D, scale } = spec;
  const T = q.shape[0]!;
  const rep = H / KV;
  const qh = scaleOp(heads(q, H, D, spec.rotary), scale); // [H, T, D], q * scale as transformers' OPT does
  const kh = heads(k, KV, D, spec.rotary); // [KV, T, D]
  const vh = v.reshape([T, KV, D]).permute([1, 0, 2]); // [KV, T, D] view
  const out = allocF32(T * H * D); // [T, H*D]
  const W = spec.window ?? null;
  for (let g = 0; g < KV; g++) {
    // the rep query heads of group g, stacked: [rep*T, D] (contiguous in qh)
    const qg = qh.narrow(0, g * rep, rep).reshape([rep * T, D]);
    const kg = kh.select(0, g); // [T, D]
    const s = matmul(qg, kg.transpose()); // [rep*T, T]
    const sd = s.values();
    if (W !== null && W < T) {
      for (let r = 0; r < rep * T; r++) {
        const t = r % T; // query position
        const row = r * T;
        for (let j = 0; j <= t - W; j++) sd[row + j] = -Infinity;
      }
    }
    const p = softmax(s.reshape([rep, T, T]), { causal: true }); // [rep, T, T]
    const o = matmul(p.reshape([rep * T, T]), vh.select(0, g)); // [rep*T, D]
    const od = o.values();
    for (let r = 0; r < rep; r++) {
      const h = g * rep + r;
      for (let t = 0; t < T; t++) out.set(od.subarray((r * T + t) * D, (r * T + t + 1) * D), t * H * D + h * D);
    }
  }
  return new Tensor(out, [T, H * D]);
}
