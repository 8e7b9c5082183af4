/**
 * Element-wise loops over Float32Array. Binary ops broadcast NumPy-style and read strided inputs directly;
 * the op switch sits outside the inner loops so each loop stays monomorphic.
 */
import { erf } from './erf.js';
import { fastExp } from './exp.js';

/** Binary op codes. */
export const BinOp = { Add: 0, Sub: 1, Mul: 2, Div: 3 } as const;
export type BinOp = (typeof BinOp)[keyof typeof BinOp];

/** Unary op codes. */
export const UnOp = { Neg: 0, Exp: 1, Relu: 2, Sigmoid: 3, Silu: 4, GeluErf: 5, GeluTanh: 6, Scale: 7 } as const;
export type UnOp = (typeof UnOp)[keyof typeof UnOp];

/** out[i] = a[i] op b[i] over `n` contiguous elements. */
function binaryFlat(
  op: BinOp,
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  out: Float32Array,
  n: number,
): void {
  switch (op) {
    case BinOp.Add:
      for (let i = 0; i < n; i++) out[i] = a[ao + i]! + b[bo + i]!;
      break;
    case BinOp.Sub:
      for (let i = 0; i < n; i++) out[i] = a[ao + i]! - b[bo + i]!;
      break;
    case BinOp.Mul:
      for (let i = 0; i < n; i++) out[i] = a[ao + i]! * b[bo + i]!;
      break;
    case BinOp.Div:
      for (let i = 0; i < n; i++) out[i] = a[ao + i]! / b[bo + i]!;
      break;
  }
}

/** One inner run: out[o + k] = a[ai + k*sa] op b[bi + k*sb] for k < n. */
function binaryRun(
  op: BinOp,
  a: Float32Array,
  ai: number,
  sa: number,
  b: Float32Array,
  bi: number,
  sb: number,
  out: Float32Array,
  o: number,
  n: number,
): void {
  switch (op) {
    case BinOp.Add:
      for (let k = 0; k < n; k++) out[o + k] = a[ai + k * sa]! + b[bi + k * sb]!;
      break;
    case BinOp.Sub:
      for (let k = 0; k < n; k++) out[o + k] = a[ai + k * sa]! - b[bi + k * sb]!;
      break;
    case BinOp.Mul:
      for (let k = 0; k < n; k++) out[o + k] = a[ai + k * sa]! * b[bi + k * sb]!;
      break;
    case BinOp.Div:
      for (let k = 0; k < n; k++) out[o + k] = a[ai + k * sa]! / b[bi + k * sb]!;
      break;
  }
}

/**
 * Broadcast binary op into the contiguous `out` of shape `shape`; `sa`/`sb` are the inputs' strides already
 * broadcast to `shape` (0 on broadcast axes). `fast` marks both inputs dense with the output's layout.
 */
export function binaryBroadcast(
  op: BinOp,
  a: Float32Array,
  aOff: number,
  sa: readonly number[],
  b: Float32Array,
  bOff: number,
  sb: readonly number[],
  out: Float32Array,
  shape: readonly number[],
  fast: boolean,
): void {
  const nd = shape.length;
  let n = 1;
  for (const d of shape) n *= d;
  if (n === 0) return;
  if (fast || nd === 0) {
    binaryFlat(op, a, aOff, b, bOff, out, n);
    return;
  }
  const last = shape[nd - 1]!;
  const la = sa[nd - 1]!;
  const lb = sb[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  for (let o = 0; o < n; o += last) {
    let ai = aOff;
    let bi = bOff;
    for (let d = 0; d < nd - 1; d++) {
      ai += idx[d]! * sa[d]!;
      bi += idx[d]! * sb[d]!;
    }
    binaryRun(op, a, ai, la, b, bi, lb, out, o, last);
    for (let d = nd - 2; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const fround = Math.fround;

/**
 * out[i] = f(x[xo + i]) for i < n. Activations evaluate in float64 and round once, except the GELUs, which
 * round each step to float32 like PyTorch's float kernels (so that erf(x)=+-1 saturation matches).
 */
export function unaryFlat(op: UnOp, x: Float32Array, xo: number, out: Float32Array, n: number, s = 1): void {
  switch (op) {
    case UnOp.Neg:
      for (let i = 0; i < n; i++) out[i] = -x[xo + i]!;
      break;
    case UnOp.Exp:
      for (let i = 0; i < n; i++) out[i] = fastExp(x[xo + i]!);
      break;
    case UnOp.Relu:
      // Math.max propagates NaN like torch.relu and maps -0 to 0; it compiles without a branch.
      for (let i = 0; i < n; i++) out[i] = Math.max(x[xo + i]!, 0);
      break;
    case UnOp.Sigmoid:
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + fastExp(-x[xo + i]!));
      break;
    case UnOp.Silu:
      for (let i = 0; i < n; i++) {
        const v = x[xo + i]!;
        out[i] = v / (1 + fastExp(-v));
      }
      break;
    case UnOp.GeluErf:
      for (let i = 0; i < n; i++) {
        const v = x[xo + i]!;
        out[i] = fround(v * 0.5) * fround(1 + fround(erf(fround(v * SQRT1_2))));
      }
      break;
    case UnOp.GeluTanh:
      for (let i = 0; i < n; i++) {
        const v = x[xo + i]!;
        // 0.5 v (1 + tanh(y)) = v / (1 + e^(-2y)): exact identity, no cancellation.
        const inner = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
        out[i] = v / (1 + fastExp(-2 * inner));
      }
      break;
    case UnOp.Scale:
      for (let i = 0; i < n; i++) out[i] = x[xo + i]! * s;
      break;
  }
}
