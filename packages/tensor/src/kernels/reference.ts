/**
 * Naive reference implementations used by the tests to check the fast kernels. They read every element
 * through `Tensor.get` (so they accept any strided view), accumulate in float64 and favour obviousness over
 * speed. Never use them on large inputs.
 */
import { fmtShape, shapeMismatch, TensorError } from '../errors.js';
import { broadcastShapes, numel } from '../layout.js';
import { Tensor } from '../tensor.js';
import { erfSeries } from './erf.js';

/** Calls `fn` with every multi-index of `shape` in row-major order. */
export function forEachIndex(shape: readonly number[], fn: (idx: number[]) => void): void {
  const n = numel(shape);
  if (n === 0) return;
  const idx = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < n; c++) {
    fn(idx);
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
}

/** Elements of `t` as float64, row-major, read one by one through `get`. */
export function refValues(t: Tensor): Float64Array {
  const out = new Float64Array(t.size);
  let o = 0;
  forEachIndex(t.shape, (idx) => {
    out[o++] = t.get(...idx);
  });
  return out;
}

function fromF64(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return Tensor.from(Float32Array.from(values), shape);
}

/** Reference `a @ b`: 2-D `[m,k]x[k,n]` or batched `[...,m,k]x[...,k,n]` with broadcast batch dims. */
export function refMatmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim < 2 || b.ndim < 2)
    throw new TensorError(`matmul: need at least 2-d operands, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const m = a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const n = b.shape[b.ndim - 1]!;
  if (b.shape[b.ndim - 2] !== k) shapeMismatch('matmul', a.shape, b.shape, 'inner dimensions differ');
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  const out = new Float64Array(numel(batch) * m * n);
  let o = 0;
  const pick = (t: Tensor, bi: number[]): number[] => {
    const lead = t.ndim - 2;
    return bi.slice(bi.length - lead).map((v, i) => (t.shape[i] === 1 ? 0 : v));
  };
  forEachIndex(batch, (bi) => {
    const ai = pick(a, bi);
    const bj = pick(b, bi);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.get(...ai, i, p) * b.get(...bj, p, j);
        out[o++] = s;
      }
    }
  });
  return fromF64(out, [...batch, m, n]);
}

/** Reference `linear(x, w, b)`: `x [..., in] @ w[out, in]^T + b[out]`. */
export function refLinear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.ndim !== 2 || x.ndim < 1)
    throw new TensorError(`linear: weight must be 2-d [out, in], got ${fmtShape(w.shape)}`);
  const [nOut, nIn] = w.shape as [number, number];
  if (x.shape[x.ndim - 1] !== nIn)
    shapeMismatch('linear', x.shape, w.shape, 'x last dim must equal weight in-features');
  if (b && (b.ndim !== 1 || b.shape[0] !== nOut)) shapeMismatch('linear', w.shape, b.shape, 'bias must be [out]');
  const lead = x.shape.slice(0, -1);
  const out = new Float64Array(numel(lead) * nOut);
  let o = 0;
  forEachIndex(lead, (li) => {
    for (let j = 0; j < nOut; j++) {
      let s = b ? b.get(j) : 0;
      for (let p = 0; p < nIn; p++) s += x.get(...li, p) * w.get(j, p);
      out[o++] = s;
    }
  });
  return fromF64(out, [...lead, nOut]);
}

/** Reads `t` at the broadcast index `idx` of a larger shape. */
function getBroadcast(t: Tensor, idx: readonly number[]): number {
  const off = idx.length - t.ndim;
  const own = t.shape.map((d, i) => (d === 1 ? 0 : idx[off + i]!));
  return t.get(...own);
}

/** Reference broadcasting binary op. */
export function refBinary(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, 'refBinary');
  const out = new Float64Array(numel(shape));
  let o = 0;
  forEachIndex(shape, (idx) => {
    out[o++] = f(getBroadcast(a, idx), getBroadcast(b, idx));
  });
  return fromF64(out, shape);
}

/** Reference element-wise map, evaluated in float64. */
export function refUnary(x: Tensor, f: (v: number) => number): Tensor {
  return fromF64(Array.from(refValues(x), f), x.shape);
}

/** Reference activations in float64 (`erfSeries` for GELU). */
export const refActivations = {
  relu: (v: number) => (v > 0 ? v : !Number.isNaN(v) ? 0 : v),
  sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
  silu: (v: number) => v / (1 + Math.exp(-v)),
  geluErf: (v: number) => 0.5 * v * (1 + erfSeries(v / Math.SQRT2)),
  geluTanh: (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
};

/** Reference reduction of `x` along `axis` with `f` over the float64 values of each lane. */
export function refReduce(x: Tensor, axis: number, f: (lane: number[]) => number, keepdim = false): Tensor {
  const a = axis < 0 ? axis + x.ndim : axis;
  const outShape = x.shape.map((d, i) => (i === a ? 1 : d));
  const out = new Float64Array(numel(outShape));
  let o = 0;
  forEachIndex(outShape, (idx) => {
    const lane: number[] = [];
    for (let k = 0; k < x.shape[a]!; k++) {
      const j = [...idx];
      j[a] = k;
      lane.push(x.get(...j));
    }
    out[o++] = f(lane);
  });
  return fromF64(out, keepdim ? outShape : x.shape.filter((_, i) => i !== a));
}

export { refEmbedding, refLayerNorm, refRmsNorm, refRotary, refSoftmax } from './reference_nn.js';
export {
  refArgsortRows,
  refColumnStats,
  refKthSmallest,
  refMatmulF64,
  refTransposeF64,
  refXtX,
} from './reference_stats.js';
