import { applyRotaryInto, matmulInto, scaleInto, softmaxInto, Tensor } from '@stade/tensor';
import { Workspace } from './workspace.js';

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

/**
 * q, k, v viewed per head (`[T, H, D]`, `[T, KV, D]`), q and k rotated in place by `spec.rotary` (row t by table
 * row t) and q scaled in place (q * scale as transformers' OPT does).
 */
export function rotateAndScale(q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec) {
  const { heads: H, kvHeads: KV, headDim: D } = spec;
  const T = q.shape[0]!;
  const q3 = q.reshape([T, H, D]);
  const k3 = k.reshape([T, KV, D]);
  if (spec.rotary) {
    applyRotaryInto(q3, spec.rotary.cos, spec.rotary.sin, q3, { positionAxis: 0 });
    applyRotaryInto(k3, spec.rotary.cos, spec.rotary.sin, k3, { positionAxis: 0 });
  }
  scaleInto(q, spec.scale, q);
  return { q3, k3, v3: v.reshape([T, KV, D]) };
}

/** Query rows per score block: causal blocks skip the keys after the block (about half of the T x T work). */
const QUERY_BLOCK = 256;

/**
 * Eager causal attention as transformers' `eager_attention_forward`: per head, softmax(q k^T * scale + mask) v,
 * key/value heads shared by `heads / kvHeads` query heads (grouped-query attention). q: `[T, H*D]`, k and v:
 * `[T, KV*D]`, out: `[T, H*D]`, all contiguous. q and k are OVERWRITTEN (rotated in place; q also scaled).
 * Queries run per head in blocks of rows against only the keys they can see (a causal block [r0, r1) sees keys
 * [k0, r1), k0 > 0 only with a sliding window), so scores never take more than `[256, T]` floats of `ws`.
 */
export function causalAttentionInto(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  spec: AttentionSpec,
  out: Tensor,
  ws: Workspace,
): Tensor {
  const { heads: H, kvHeads: KV, headDim: D } = spec;
  const T = q.shape[0]!;
  const rep = H / KV;
  const { q3, k3, v3 } = rotateAndScale(q, k, v, spec);
  const o = out.data;
  const W = spec.window ?? null;
  ws.get('attn.scores', [Math.min(T, QUERY_BLOCK) * T]); // reserve the largest score block at once
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    const qh = q3.select(1, h); // [T, D], row stride H*D
    const kh = k3.select(1, g); // [T, D]
    const vh = v3.select(1, g); // [T, D]
    for (let r0 = 0; r0 < T; r0 += QUERY_BLOCK) {
      const r1 = Math.min(T, r0 + QUERY_BLOCK);
      const n = r1 - r0;
      const k0 = W === null ? 0 : Math.max(0, r0 - W + 1);
      const S = r1 - k0;
      const s = ws.get('attn.scores', [n, S]); // [n, S]
      matmulInto(qh.narrow(0, r0, n), kh.narrow(0, k0, S).transpose(), s);
      if (W !== null) {
        // query r0+i sees keys j with r0+i - W < j: mask columns k0..r0+i-W
        const sd = s.data;
        for (let i = 0; i < n; i++) {
          const last = r0 + i - W - k0; // last masked column (local)
          for (let j = 0; j <= last; j++) sd[i * S + j] = -Infinity;
        }
      }
      // causal with n <= S: local row i sees columns j <= i + S - n, i.e. keys up to r0 + i
      softmaxInto(s, s, { causal: true });
      const ob = ws.get('attn.out', [n, D]); // [n, D]
      matmulInto(s, vh.narrow(0, k0, S), ob);
      const od = ob.data;
      for (let i = 0; i < n; i++) o.set(od.subarray(i * D, (i + 1) * D), out.offset + (r0 + i) * H * D + h * D);
    }
  }
  return out;
}

/**
 * `causalAttentionInto` on copies of q and k into a fresh output `[T, H*D]`, with its own scratch (convenient for
 * tests and one-off calls; the models use `causalAttentionInto` with their workspace).
 */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, spec: AttentionSpec): Tensor {
  const T = q.shape[0]!;
  const out = Tensor.zeros([T, spec.heads * spec.headDim]);
  return causalAttentionInto(q.clone(), k.clone(), v.toContiguous(), spec, out, new Workspace());
}
