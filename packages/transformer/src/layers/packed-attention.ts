import { matmulInto, softmaxInto, Tensor } from '@stade/tensor';
import { StadeError } from '../errors.js';
import { type AttentionSpec, causalAttention, rotateAndScale } from './attention.js';
import { Workspace } from './workspace.js';

/**
 * One sequence piece of a packed batch: rows `start .. start+length-1` attend to the rows of their shared prefix
 * (`prefixStart .. prefixStart+prefixLength-1`, e.g. a document's context that several choices continue) and
 * causally to their own rows. The prefix must itself be a segment without a prefix (positions 0 ..); the own rows
 * sit at positions `prefixLength ..`. A segment without prefix is a plain causal sequence at positions 0 ..
 */
export interface PackedSegment {
  start: number;
  length: number;
  prefixStart: number;
  prefixLength: number;
}

/** Checks segments against `N` packed rows: in range, non-empty, the prefix not overlapping the segment. */
export function checkSegments(segments: readonly PackedSegment[], N: number): void {
  for (const s of segments) {
    const ok =
      Number.isInteger(s.start) &&
      Number.isInteger(s.length) &&
      s.length >= 1 &&
      s.start >= 0 &&
      s.start + s.length <= N &&
      Number.isInteger(s.prefixLength) &&
      s.prefixLength >= 0 &&
      (s.prefixLength === 0 ||
        (s.prefixStart >= 0 &&
          s.prefixStart + s.prefixLength <= N &&
          (s.prefixStart + s.prefixLength <= s.start || s.prefixStart >= s.start + s.length)));
    if (!ok) throw new StadeError(`packed attention: bad segment ${JSON.stringify(s)} of ${N} rows`);
  }
}

/** Position of every packed row (rows outside every segment: 0). */
export function segmentPositions(segments: readonly PackedSegment[], N: number): Int32Array {
  const pos = new Int32Array(N);
  for (const s of segments) for (let i = 0; i < s.length; i++) pos[s.start + i] = s.prefixLength + i;
  return pos;
}

/** Query rows per score block (scores take `[QUERY_BLOCK, keys]` floats at a time). */
const QUERY_BLOCK = 256;

/** Rows `[r0, r0+n)` of `src` (`[*, KV, D]` viewed per head `g`) copied into `dst` (`[*, D]`) from row `at`. */
function copyHeadRows(src: Tensor, g: number, r0: number, n: number, dst: Float32Array, at: number, D: number) {
  const row = src.shape[1]! * D;
  const sd = src.data;
  for (let i = 0; i < n; i++) {
    const o = src.offset + (r0 + i) * row + g * D;
    dst.set(sd.subarray(o, o + D), (at + i) * D);
  }
}

/**
 * Causal self-attention of several sequences packed into one batch of rows (varlen packing, no padding): each
 * segment's rows attend to their shared prefix's keys and values and causally to their own (block-diagonal,
 * with shared prefixes), exactly as `causalAttentionInto` on the prefix followed by the segment would compute
 * those rows. q: `[N, H*D]`, k and v: `[N, KV*D]`, out: `[N, H*D]` (rows outside every segment untouched), all
 * contiguous; `spec.rotary` holds per-ROW tables `[N, headDim]` (each row's own position). q and k are
 * OVERWRITTEN (rotated in place; q also scaled). Scratch comes from `ws`.
 */
export function packedAttentionInto(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  spec: AttentionSpec,
  segments: readonly PackedSegment[],
  out: Tensor,
  ws: Workspace,
): Tensor {
  const { heads: H, kvHeads: KV, headDim: D } = spec;
  checkSegments(segments, q.shape[0]!);
  const rep = H / KV;
  const { q3, k3, v3 } = rotateAndScale(q, k, v, spec);
  const o = out.data;
  const W = spec.window ?? null;
  let maxKeys = 0;
  let maxBlock = 0;
  for (const s of segments) {
    maxKeys = Math.max(maxKeys, s.prefixLength + s.length);
    maxBlock = Math.max(maxBlock, Math.min(s.length, QUERY_BLOCK) * (s.prefixLength + s.length));
  }
  // reserve the largest sizes at once (a smaller `get` later views the same buffer)
  ws.get('pattn.k', [maxKeys * D]);
  ws.get('pattn.v', [maxKeys * D]);
  ws.get('pattn.scores', [maxBlock]);
  ws.get('pattn.out', [Math.min(QUERY_BLOCK, maxKeys) * D]);
  for (const seg of segments) {
    const P = seg.prefixLength;
    const n = seg.length;
    const S = P + n; // keys of the segment: the prefix's rows, then its own
    for (let g = 0; g < KV; g++) {
      let kg: Tensor;
      let vg: Tensor;
      if (P === 0) {
        kg = k3.select(1, g).narrow(0, seg.start, n); // [n, D], row stride KV*D
        vg = v3.select(1, g).narrow(0, seg.start, n);
      } else {
        kg = ws.get('pattn.k', [S, D]);
        vg = ws.get('pattn.v', [S, D]);
        copyHeadRows(k3, g, seg.prefixStart, P, kg.data, 0, D);
        copyHeadRows(k3, g, seg.start, n, kg.data, P, D);
        copyHeadRows(v3, g, seg.prefixStart, P, vg.data, 0, D);
        copyHeadRows(v3, g, seg.start, n, vg.data, P, D);
      }
      for (let h = g * rep; h < (g + 1) * rep; h++) {
        const qh = q3.select(1, h).narrow(0, seg.start, n); // [n, D]
        for (let r0 = 0; r0 < n; r0 += QUERY_BLOCK) {
          const nb = Math.min(n, r0 + QUERY_BLOCK) - r0;
          const a0 = P + r0; // position of the block's first query
          const k0 = W === null ? 0 : Math.max(0, a0 - W + 1);
          const Sb = a0 + nb - k0; // keys k0 .. a0+nb-1
          const s = ws.get('pattn.scores', [nb, Sb]);
          matmulInto(qh.narrow(0, r0, nb), kg.narrow(0, k0, Sb).transpose(), s);
          if (W !== null) {
            const sd = s.data;
            for (let i = 0; i < nb; i++) {
              const last = a0 + i - W - k0; // last local column outside query a0+i's window
              for (let j = 0; j <= last; j++) sd[i * Sb + j] = -Infinity;
            }
          }
          // causal with nb <= Sb: local row i sees columns j <= i + Sb - nb, i.e. keys up to a0 + i
          softmaxInto(s, s, { causal: true });
          const ob = ws.get('pattn.out', [nb, D]);
          matmulInto(s, vg.narrow(0, k0, Sb), ob);
          const od = ob.data;
          for (let i = 0; i < nb; i++) {
            o.set(od.subarray(i * D, (i + 1) * D), out.offset + (seg.start + r0 + i) * H * D + h * D);
          }
        }
      }
    }
  }
  return out;
}

/** Rows of `x` (`[N, C]`) listed in `rows`, as a fresh `[rows.length, C]`. */
export function gatherRows(x: Tensor, rows: ArrayLike<number>): Tensor {
  const C = x.shape[1]!;
  const xv = x.toContiguous().values();
  const outv = new Float32Array(rows.length * C);
  for (let i = 0; i < rows.length; i++) outv.set(xv.subarray(rows[i]! * C, (rows[i]! + 1) * C), i * C);
  return new Tensor(outv, [rows.length, C]);
}

/**
 * The reference of `packedAttentionInto`: each segment run on its own as `causalAttention` over its prefix's
 * rows followed by its own, keeping its own rows' outputs. Inputs are not modified; returns a fresh `[N, H*D]`
 * (zero outside every segment).
 */
export function packedAttentionNaive(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  spec: AttentionSpec,
  segments: readonly PackedSegment[],
): Tensor {
  const N = q.shape[0]!;
  checkSegments(segments, N);
  const HD = spec.heads * spec.headDim;
  const out = Tensor.zeros([N, HD]);
  for (const seg of segments) {
    const rows: number[] = [];
    for (let i = 0; i < seg.prefixLength; i++) rows.push(seg.prefixStart + i);
    for (let i = 0; i < seg.length; i++) rows.push(seg.start + i);
    const rotary = spec.rotary
      ? { cos: gatherRows(spec.rotary.cos, rows), sin: gatherRows(spec.rotary.sin, rows) }
      : null;
    const a = causalAttention(gatherRows(q, rows), gatherRows(k, rows), gatherRows(v, rows), { ...spec, rotary });
    const av = a.values();
    out.data.set(av.subarray(seg.prefixLength * HD), seg.start * HD);
  }
  return out;
}

/** `packedAttentionInto` on copies of q and k into a fresh output, with its own scratch (tests, one-off calls). */
export function packedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  spec: AttentionSpec,
  segments: readonly PackedSegment[],
): Tensor {
  const out = Tensor.zeros([q.shape[0]!, spec.heads * spec.headDim]);
  return packedAttentionInto(q.clone(), k.clone(), v.toContiguous(), spec, segments, out, new Workspace());
}
