/** Naive references for the nn ops (float64, element reads through `Tensor.get`). */
import { numel } from '../layout.js';
import { Tensor } from '../tensor.js';
import { forEachIndex } from './reference.js';

/** Applies `f` to every last-axis lane of `x` (with the lane's multi-index prefix) and stacks the results. */
function mapLanes(x: Tensor, f: (lane: number[], prefix: number[]) => number[]): Tensor {
  const lead = x.shape.slice(0, -1);
  const n = x.shape[x.ndim - 1]!;
  const out = new Float32Array(numel(x.shape));
  let o = 0;
  forEachIndex(lead, (p) => {
    const lane: number[] = [];
    for (let j = 0; j < n; j++) lane.push(x.get(...p, j));
    for (const v of f(lane, [...p])) out[o++] = v;
  });
  return Tensor.from(out, x.shape);
}

/** Softmax / log-softmax on the last axis with an optional causal mask (`j <= i + S - T`). */
export function refSoftmax(x: Tensor, causal = false, log = false): Tensor {
  const S = x.shape[x.ndim - 1]!;
  const T = x.ndim >= 2 ? x.shape[x.ndim - 2]! : 1;
  return mapLanes(x, (lane, p) => {
    const i = p.length > 0 ? p[p.length - 1]! : 0;
    const visible = lane.map((_, j) => !causal || j <= i + S - T);
    const vals = lane.filter((_, j) => visible[j]);
    const m = Math.max(...vals);
    const z = vals.reduce((s, v) => s + Math.exp(v - m), 0);
    return lane.map((v, j) => {
      if (!visible[j]) return log ? -Infinity : 0;
      return log ? v - m - Math.log(z) : Math.exp(v - m) / z;
    });
  });
}

/** LayerNorm with the textbook formula in float64. */
export function refLayerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number): Tensor {
  return mapLanes(x, (lane) => {
    const mean = lane.reduce((s, v) => s + v, 0) / lane.length;
    const variance = lane.reduce((s, v) => s + (v - mean) ** 2, 0) / lane.length;
    return lane.map((v, j) => ((v - mean) / Math.sqrt(variance + eps)) * (w ? w.get(j) : 1) + (b ? b.get(j) : 0));
  });
}

/** RMSNorm `w * x / sqrt(mean(x^2) + eps)` in float64. */
export function refRmsNorm(x: Tensor, w: Tensor | null, eps: number): Tensor {
  return mapLanes(x, (lane) => {
    const ms = lane.reduce((s, v) => s + v * v, 0) / lane.length;
    return lane.map((v, j) => (v / Math.sqrt(ms + eps)) * (w ? w.get(j) : 1));
  });
}

/** Rotary embedding built literally: rotate_half(x) = cat(-x[D/2:], x[:D/2]); out = x*cos + rot*sin. */
export function refRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const D = x.shape[x.ndim - 1]!;
  const h = D / 2;
  return mapLanes(x, (lane, p) => {
    const t = p[p.length - 1]!;
    const rot = [...lane.slice(h).map((v) => -v), ...lane.slice(0, h)];
    return lane.map((v, j) => v * cos.get(t, j) + rot[j]! * sin.get(t, j));
  });
}

/** Embedding gather: row ids[i] of table. */
export function refEmbedding(table: Tensor, ids: ArrayLike<number>): Tensor {
  const D = table.shape[1]!;
  const out = new Float32Array(ids.length * D);
  for (let i = 0; i < ids.length; i++) for (let j = 0; j < D; j++) out[i * D + j] = table.get(ids[i]!, j);
  return Tensor.from(out, [ids.length, D]);
}
