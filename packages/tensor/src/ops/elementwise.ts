/** Element-wise ops: broadcasting arithmetic and activations. All accept strided views; outputs are contiguous. */
import { TensorError } from '../errors.js';
import { BinOp, UnOp } from '../kernels/elementwise.js';
import { broadcastShapes, broadcastStrides } from '../layout.js';
import { Tensor } from '../tensor.js';
import { runBinary, runUnary } from './elementwise_run.js';
import { prepareInto } from './into.js';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function binary(op: BinOp, name: string, a: Tensor, b: Tensor | number, into?: Tensor): Tensor {
  if (typeof b === 'number') b = Tensor.from([b], []);
  const shape = broadcastShapes(a.shape, b.shape, name);
  // Every element is read before it is written at the same index, so out may be a full-shape operand.
  const prep = into ? prepareInto(name, into, shape, [a, b]) : null;
  if (prep) [a, b] = prep.inputs as [Tensor, Tensor];
  const out = prep ? prep.target : Tensor.zeros(shape);
  const fast = a.contiguous && b.contiguous && sameShape(a.shape, shape) && sameShape(b.shape, shape);
  runBinary(
    op,
    a.data,
    a.offset,
    broadcastStrides(a.shape, a.strides, shape),
    b.data,
    b.offset,
    broadcastStrides(b.shape, b.strides, shape),
    out.data,
    shape,
    fast,
  );
  return prep ? prep.finish() : out;
}

/** a + b with broadcasting (b may be a number). */
export const add = (a: Tensor, b: Tensor | number): Tensor => binary(BinOp.Add, 'add', a, b);
/** a - b with broadcasting. */
export const sub = (a: Tensor, b: Tensor | number): Tensor => binary(BinOp.Sub, 'sub', a, b);
/** a * b with broadcasting. */
export const mul = (a: Tensor, b: Tensor | number): Tensor => binary(BinOp.Mul, 'mul', a, b);
/** a / b with broadcasting. */
export const div = (a: Tensor, b: Tensor | number): Tensor => binary(BinOp.Div, 'div', a, b);

/**
 * `add` written into `out` (contiguous, of the broadcast shape; it may be `a` or `b` itself, e.g. an in-place
 * residual `addInto(h, y, h)`), which avoids allocating a fresh buffer. Returns `out`.
 */
export const addInto = (a: Tensor, b: Tensor | number, out: Tensor): Tensor => binary(BinOp.Add, 'addInto', a, b, out);
/** `sub` written into `out` (see `addInto`). */
export const subInto = (a: Tensor, b: Tensor | number, out: Tensor): Tensor => binary(BinOp.Sub, 'subInto', a, b, out);
/** `mul` written into `out` (see `addInto`). */
export const mulInto = (a: Tensor, b: Tensor | number, out: Tensor): Tensor => binary(BinOp.Mul, 'mulInto', a, b, out);
/** `div` written into `out` (see `addInto`). */
export const divInto = (a: Tensor, b: Tensor | number, out: Tensor): Tensor => binary(BinOp.Div, 'divInto', a, b, out);

function unary(op: UnOp, x: Tensor, s = 1, into?: Tensor, name = 'unary'): Tensor {
  // Each element is read before it is written at the same index, so out may be x itself.
  const prep = into ? prepareInto(name, into, x.shape, [x]) : null;
  if (prep) x = prep.inputs[0]!;
  const out = prep ? prep.target : Tensor.zeros(x.shape);
  if (x.contiguous) runUnary(op, x.data, x.offset, out.data, out.size, s);
  else {
    const c = x.clone();
    runUnary(op, c.data, 0, out.data, out.size, s);
  }
  return prep ? prep.finish() : out;
}

/** x * s for a scalar s. */
export function scale(x: Tensor, s: number): Tensor {
  if (typeof s !== 'number') throw new TensorError(`scale: factor must be a number, got ${typeof s}`);
  return unary(UnOp.Scale, x, s);
}
/** -x. */
export const neg = (x: Tensor): Tensor => unary(UnOp.Neg, x);
/** e^x. */
export const exp = (x: Tensor): Tensor => unary(UnOp.Exp, x);
/** max(x, 0) (NaN stays NaN). */
export const relu = (x: Tensor): Tensor => unary(UnOp.Relu, x);
/** 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor): Tensor => unary(UnOp.Sigmoid, x);
/** x * sigmoid(x) (a.k.a. swish). */
export const silu = (x: Tensor): Tensor => unary(UnOp.Silu, x);

/** `scale` written into `out` (contiguous, x's shape; may be x itself). Returns `out`. */
export function scaleInto(x: Tensor, s: number, out: Tensor): Tensor {
  if (typeof s !== 'number') throw new TensorError(`scaleInto: factor must be a number, got ${typeof s}`);
  return unary(UnOp.Scale, x, s, out, 'scaleInto');
}
/** `relu` written into `out` (contiguous, x's shape; may be x itself). Returns `out`. */
export const reluInto = (x: Tensor, out: Tensor): Tensor => unary(UnOp.Relu, x, 1, out, 'reluInto');
/** `silu` written into `out` (contiguous, x's shape; may be x itself). Returns `out`. */
export const siluInto = (x: Tensor, out: Tensor): Tensor => unary(UnOp.Silu, x, 1, out, 'siluInto');

/** GELU: exact `'erf'` form `x/2 (1 + erf(x/sqrt 2))` (default) or the `'tanh'` approximation. */
export function gelu(x: Tensor, approximate: 'erf' | 'tanh' | 'none' = 'erf'): Tensor {
  if (approximate === 'erf' || approximate === 'none') return unary(UnOp.GeluErf, x);
  if (approximate === 'tanh') return unary(UnOp.GeluTanh, x);
  throw new TensorError(`gelu: unknown form '${approximate}' (expected 'erf' or 'tanh')`);
}

/** `gelu` written into `out` (contiguous, x's shape; may be x itself). Returns `out`. */
export function geluInto(x: Tensor, approximate: 'erf' | 'tanh' | 'none', out: Tensor): Tensor {
  if (approximate === 'erf' || approximate === 'none') return unary(UnOp.GeluErf, x, 1, out, 'geluInto');
  if (approximate === 'tanh') return unary(UnOp.GeluTanh, x, 1, out, 'geluInto');
  throw new TensorError(`geluInto: unknown form '${approximate}' (expected 'erf' or 'tanh')`);
}
