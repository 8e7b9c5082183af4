/** Neural-network ops over the last axis: softmax, norms, rotary embedding, embedding gather. */
import { fmtShape, shapeMismatch, TensorError } from '../errors.js';
import { layerNormRows, rmsNormRows, rotaryRows, softmaxRows } from '../kernels/nn.js';
import { Tensor } from '../tensor.js';
import { prepareInto } from './into.js';
import { dense, runRows } from './run.js';

export interface SoftmaxOptions {
  /** Causal mask: in each `[..., T, S]` block, row i sees columns j <= i + S - T (requires T <= S). */
  causal?: boolean;
}

function softmaxImpl(x: Tensor, opts: SoftmaxOptions, log: boolean, op: string, into?: Tensor): Tensor {
  if (x.ndim < 1) throw new TensorError(`${op}: need at least a 1-d tensor, got ${fmtShape(x.shape)}`);
  const cols = x.shape[x.ndim - 1]!;
  let causalT = 0;
  if (opts.causal) {
    if (x.ndim < 2) throw new TensorError(`${op}: causal mask needs [..., T, S], got ${fmtShape(x.shape)}`);
    causalT = x.shape[x.ndim - 2]!;
    if (causalT > cols) throw new TensorError(`${op}: causal mask needs T <= S, got ${fmtShape(x.shape)}`);
  }
  // The kernel writes row r of out only after reading row r of x, element by element at the same index,
  // so out may be x itself.
  const prep = into ? prepareInto(op, into, x.shape, [x]) : null;
  const out = prep ? prep.target : Tensor.zeros(x.shape);
  if (out.size === 0) return prep ? prep.finish() : out;
  const rows = out.size / cols;
  const src = dense(prep ? prep.inputs[0]! : x);
  const args = { x: src.data, xOff: src.off, out: out.data, outOff: out.offset, cols, causalT, log: log ? 1 : 0 };
  runRows('nn.softmax', softmaxRows, args, rows, cols * 8);
  return prep ? prep.finish() : out;
}

/** Softmax over the last axis (float64 sums), optionally with a causal mask (masked entries are 0). */
export function softmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, false, 'softmax');
}

/** Log-softmax over the last axis, optionally causal (masked entries are -Infinity). */
export function logSoftmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, true, 'logSoftmax');
}

/**
 * `softmax` written into `out` (contiguous, x's shape; may be x itself when x is contiguous), which saves
 * allocating a fresh buffer in hot loops such as attention. Returns `out`.
 */
export function softmaxInto(x: Tensor, out: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, false, 'softmaxInto', out);
}

/** `logSoftmax` written into `out` (same rules as `softmaxInto`). Returns `out`. */
export function logSoftmaxInto(x: Tensor, out: Tensor, opts: SoftmaxOptions = {}): Tensor {
  return softmaxImpl(x, opts, true, 'logSoftmaxInto', out);
}

function vecArg(op: string, what: string, x: Tensor, v: Tensor | null | undefined, cols: number) {
  if (!v) return { v: null, off: 0 };
  if (v.ndim !== 1 || v.shape[0] !== cols) shapeMismatch(op, x.shape, v.shape, `${what} must be [${cols}]`);
  const d = dense(v);
  return { v: d.data, off: d.off };
}

function normImpl(
  op: string,
  x: Tensor,
  w: Tensor | null | undefined,
  b: Tensor | null | undefined,
  eps: number,
  into?: Tensor,
): Tensor {
  if (x.ndim < 1) throw new TensorError(`${op}: need at least a 1-d tensor, got ${fmtShape(x.shape)}`);
  if (!(eps >= 0)) throw new TensorError(`${op}: eps must be >= 0, got ${eps}`);
  const cols = x.shape[x.ndim - 1]!;
  const wa = vecArg(op, 'weight', x, w, cols);
  const ba = vecArg(op, 'bias', x, b, cols);
  // Kernels read each row completely before writing it at the same indices, so out may be x itself.
  const prep = into ? prepareInto(op, into, x.shape, [x]) : null;
  const out = prep ? prep.target : Tensor.zeros(x.shape);
  const src = prep ? prep.inputs[0]! : x;
  if (out.size === 0) return prep ? prep.finish() : out;
  const { data, off } = dense(src);
  const args = { x: data, xOff: off, out: out.data, cols, w: wa.v, wOff: wa.off, b: ba.v, bOff: ba.off, eps };
  if (op.startsWith('layerNorm')) runRows('nn.layerNorm', layerNormRows, args, out.size / cols, cols * 6);
  else runRows('nn.rmsNorm', rmsNormRows, args, out.size / cols, cols * 4);
  return prep ? prep.finish() : out;
}

/** LayerNorm over the last axis: `(x - mean) / sqrt(var + eps) * w + b` (w, b: `[D]` or null). */
export function layerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, eps = 1e-5): Tensor {
  return normImpl('layerNorm', x, w, b, eps);
}

/** RMSNorm over the last axis like Hugging Face Llama: `w * (x * rsqrt(mean(x^2) + eps))` in float32. */
export function rmsNorm(x: Tensor, w: Tensor | null, eps = 1e-6): Tensor {
  return normImpl('rmsNorm', x, w, null, eps);
}

/** `layerNorm` written into `out` (contiguous, x's shape; may be x itself). Returns `out`. */
export function layerNormInto(x: Tensor, w: Tensor | null, b: Tensor | null, eps: number, out: Tensor): Tensor {
  return normImpl('layerNormInto', x, w, b, eps, out);
}

/** `rmsNorm` written into `out` (contiguous, x's shape; may be x itself). Returns `out`. */
export function rmsNormInto(x: Tensor, w: Tensor | null, eps: number, out: Tensor): Tensor {
  return normImpl('rmsNormInto', x, w, null, eps, out);
}

/** Options of `applyRotaryInto`. */
export interface RotaryOptions {
  /** The axis of positions (length T); default ndim - 2 (`[..., T, D]`). E.g. 0 for `[T, H, D]` heads in place. */
  positionAxis?: number;
}

function rotaryImpl(op: string, x: Tensor, cos: Tensor, sin: Tensor, into?: Tensor, opts: RotaryOptions = {}): Tensor {
  if (x.ndim < 2) throw new TensorError(`${op}: x must be [..., T, D], got ${fmtShape(x.shape)}`);
  const axis = opts.positionAxis ?? x.ndim - 2;
  if (!Number.isInteger(axis) || axis < 0 || axis > x.ndim - 2)
    throw new TensorError(`${op}: positionAxis ${axis} must be in [0, ${x.ndim - 2}] for ${fmtShape(x.shape)}`);
  const T = x.shape[axis]!;
  const D = x.shape[x.ndim - 1]!;
  let group = 1; // rows between two positions
  for (let i = axis + 1; i < x.ndim - 1; i++) group *= x.shape[i]!;
  if (D % 2 !== 0) throw new TensorError(`${op}: head dim must be even, got ${fmtShape(x.shape)}`);
  for (const [name, c] of [
    ['cos', cos],
    ['sin', sin],
  ] as const) {
    if (c.ndim !== 2 || c.shape[0] !== T || c.shape[1] !== D)
      shapeMismatch(op, x.shape, c.shape, `${name} must be [${T}, ${D}]`);
  }
  // The kernel reads both halves of a row pair before writing them, so out may be x itself.
  const prep = into ? prepareInto(op, into, x.shape, [x]) : null;
  const out = prep ? prep.target : Tensor.zeros(x.shape);
  if (out.size === 0) return prep ? prep.finish() : out;
  const xd = dense(prep ? prep.inputs[0]! : x);
  const cd = dense(cos);
  const sd = dense(sin);
  const args = {
    x: xd.data,
    xOff: xd.off,
    cos: cd.data,
    cosOff: cd.off,
    sin: sd.data,
    sinOff: sd.off,
    out: out.data,
    T,
    D,
    group,
  };
  runRows('nn.rotary', rotaryRows, args, out.size / D, D * 4);
  return prep ? prep.finish() : out;
}

/**
 * Rotary position embedding with the rotate_half convention: `x * cos + rotate_half(x) * sin` where
 * rotate_half(x) = cat(-x[..., D/2:], x[..., :D/2]). x: `[..., T, D]`, cos and sin: `[T, D]`.
 */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return rotaryImpl('applyRotary', x, cos, sin);
}

/**
 * `applyRotary` written into `out` (contiguous, x's shape; may be x itself), with the positions along
 * `opts.positionAxis` (e.g. `[T, H, D]` query heads rotated in place with `positionAxis: 0`). Returns `out`.
 */
export function applyRotaryInto(x: Tensor, cos: Tensor, sin: Tensor, out: Tensor, opts: RotaryOptions = {}): Tensor {
  return rotaryImpl('applyRotaryInto', x, cos, sin, out, opts);
}

function checkIds(table: Tensor, ids: Int32Array | readonly number[], op: string): [number, number] {
  if (table.ndim !== 2) throw new TensorError(`${op}: table must be [V, D], got ${fmtShape(table.shape)}`);
  const [V, D] = table.shape as [number, number];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new TensorError(
        `${op}: token id ${id} at position ${i} is out of range for a vocabulary of ${V} (table ${fmtShape(table.shape)})`,
      );
    }
  }
  return [V, D];
}

function gather(table: Tensor, ids: Int32Array | readonly number[], out: Tensor, D: number): Tensor {
  const rowContig = table.strides[1] === 1 || D <= 1;
  const base = out.offset;
  for (let i = 0; i < ids.length; i++) {
    if (rowContig) {
      const s = table.offset + ids[i]! * table.strides[0]!;
      out.data.set(table.data.subarray(s, s + D), base + i * D);
    } else {
      out.data.set(table.select(0, ids[i]!).clone().data, base + i * D);
    }
  }
  return out;
}

/** Gathers rows of `table` (`[V, D]`) for `ids`, giving `[n, D]`; an id outside [0, V) is an error naming it. */
export function embedding(table: Tensor, ids: Int32Array | readonly number[]): Tensor {
  const [, D] = checkIds(table, ids, 'embedding');
  return gather(table, ids, Tensor.zeros([ids.length, D]), D);
}

/** `embedding` written into `out` (contiguous `[n, D]`, not sharing storage with the table). Returns `out`. */
export function embeddingInto(table: Tensor, ids: Int32Array | readonly number[], out: Tensor): Tensor {
  const [, D] = checkIds(table, ids, 'embeddingInto');
  if (out.ndim !== 2 || out.shape[0] !== ids.length || out.shape[1] !== D)
    shapeMismatch('embeddingInto', [ids.length, D], out.shape, 'out must be [ids, D]');
  if (!out.contiguous)
    throw new TensorError(`embeddingInto: out must be contiguous, got strides ${fmtShape(out.strides)}`);
  if (out.data.buffer === table.data.buffer)
    throw new TensorError('embeddingInto: out must not share storage with the table');
  return gather(table, ids, out, D);
}
