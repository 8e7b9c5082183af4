/**
 * Row kernels for the nn ops, `(args, rowStart, rowEnd)`: each processes whole rows of a contiguous
 * `[rows, cols]` input and writes the same rows of the output, so it runs inline or on the pool unchanged.
 * Reductions accumulate in float64.
 */

import { fastExp } from './exp.js';

export type SoftmaxArgs = {
  readonly x: Float32Array; // [rows, cols] contiguous from xOff
  readonly xOff: number;
  readonly out: Float32Array; // [rows, cols] contiguous from outOff (may be x itself)
  readonly outOff?: number; // default 0
  readonly cols: number;
  /** Causal mask: row r (query t = r % T) sees columns j <= t + cols - T. 0 = no mask. */
  readonly causalT: number;
  /** 1 for log-softmax. */
  readonly log: number;
};

/** Softmax (or log-softmax) over the last axis, optionally causal (masked entries are 0, or -Inf in log form). */
export function softmaxRows(args: SoftmaxArgs, rowStart: number, rowEnd: number): void {
  const { x, xOff, out, cols, causalT, log } = args;
  const outOff = args.outOff ?? 0;
  for (let r = rowStart; r < rowEnd; r++) {
    const xo = xOff + r * cols;
    const o = outOff + r * cols;
    const lim = causalT > 0 ? (r % causalT) + cols - causalT + 1 : cols; // visible columns [0, lim)
    let max = -Infinity;
    for (let j = 0; j < lim; j++) {
      const v = x[xo + j]!;
      if (v > max || Number.isNaN(v)) max = v;
    }
    if (max === -Infinity) max = 0; // all -Inf: exp gives 0/0 = NaN like torch
    let sum = 0;
    if (log) {
      for (let j = 0; j < lim; j++) sum += fastExp(x[xo + j]! - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < lim; j++) out[o + j] = x[xo + j]! - lse;
      for (let j = lim; j < cols; j++) out[o + j] = -Infinity;
    } else {
      for (let j = 0; j < lim; j++) {
        const e = fastExp(x[xo + j]! - max);
        sum += e;
        out[o + j] = e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < lim; j++) out[o + j] = out[o + j]! * inv;
      for (let j = lim; j < cols; j++) out[o + j] = 0;
    }
  }
}

export type NormArgs = {
  readonly x: Float32Array; // [rows, cols] contiguous from xOff
  readonly xOff: number;
  readonly out: Float32Array; // [rows, cols]
  readonly cols: number;
  readonly w: Float32Array | null; // [cols] contiguous from wOff, or null
  readonly wOff: number;
  readonly b: Float32Array | null; // [cols] contiguous from bOff, or null
  readonly bOff: number;
  readonly eps: number;
};

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * w + b; mean and biased variance in float64. */
export function layerNormRows(args: NormArgs, rowStart: number, rowEnd: number): void {
  const { x, xOff, out, cols, w, wOff, b, bOff, eps } = args;
  for (let r = rowStart; r < rowEnd; r++) {
    const xo = xOff + r * cols;
    const o = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[xo + j]!;
    const mean = s / cols;
    let q = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[xo + j]! - mean;
      q += d * d;
    }
    const rstd = 1 / Math.sqrt(q / cols + eps);
    if (w && b) for (let j = 0; j < cols; j++) out[o + j] = (x[xo + j]! - mean) * rstd * w[wOff + j]! + b[bOff + j]!;
    else if (w) for (let j = 0; j < cols; j++) out[o + j] = (x[xo + j]! - mean) * rstd * w[wOff + j]!;
    else if (b) for (let j = 0; j < cols; j++) out[o + j] = (x[xo + j]! - mean) * rstd + b[bOff + j]!;
    else for (let j = 0; j < cols; j++) out[o + j] = (x[xo + j]! - mean) * rstd;
  }
}

const fround = Math.fround;

/**
 * RMSNorm as Hugging Face Llama computes it in float32: variance = mean(x^2) (accumulated in float64, then
 * rounded), r = rsqrt(variance + eps) in float32, out = w * float32(x * r).
 */
export function rmsNormRows(args: NormArgs, rowStart: number, rowEnd: number): void {
  const { x, xOff, out, cols, w, wOff, eps } = args;
  for (let r = rowStart; r < rowEnd; r++) {
    const xo = xOff + r * cols;
    const o = r * cols;
    let q = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[xo + j]!;
      q += v * v;
    }
    const variance = fround(q / cols);
    const rs = fround(1 / Math.sqrt(fround(variance + eps)));
    if (w) for (let j = 0; j < cols; j++) out[o + j] = w[wOff + j]! * fround(x[xo + j]! * rs);
    else for (let j = 0; j < cols; j++) out[o + j] = x[xo + j]! * rs;
  }
}

export type RotaryArgs = {
  readonly x: Float32Array; // [rows, D] contiguous from xOff; row r is position floor(r / group) % T
  readonly xOff: number;
  readonly cos: Float32Array; // [T, D] contiguous from cosOff
  readonly cosOff: number;
  readonly sin: Float32Array; // [T, D] contiguous from sinOff
  readonly sinOff: number;
  readonly out: Float32Array; // [rows, D] (may be x itself: each pair is read before it is written)
  readonly T: number;
  readonly D: number;
  /** Consecutive rows sharing one position (heads of a `[T, H, D]` layout); default 1. */
  readonly group?: number;
};

/** Rotary embedding with rotate_half: out = x * cos + cat(-x2, x1) * sin, rounding each product to float32. */
export function rotaryRows(args: RotaryArgs, rowStart: number, rowEnd: number): void {
  const { x, xOff, cos, cosOff, sin, sinOff, out, T, D } = args;
  const group = args.group ?? 1;
  const h = D >> 1;
  for (let r = rowStart; r < rowEnd; r++) {
    const xo = xOff + r * D;
    const o = r * D;
    const t = Math.floor(r / group) % T;
    const co = cosOff + t * D;
    const so = sinOff + t * D;
    for (let j = 0; j < h; j++) {
      const a = x[xo + j]!;
      const b = x[xo + j + h]!;
      out[o + j] = fround(a * cos[co + j]!) + fround(-b * sin[so + j]!);
      out[o + j + h] = fround(b * cos[co + j + h]!) + fround(a * sin[so + j + h]!);
    }
  }
}
