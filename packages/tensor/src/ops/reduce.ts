/** Reductions along one axis (float64 accumulation): sum, mean, max, variance. */
import { fmtShape, TensorError } from '../errors.js';
import { Reduce, reduceRows } from '../kernels/reduce.js';
import { normAxis } from '../layout.js';
import { Tensor } from '../tensor.js';
import { dense, runRows } from './run.js';

export interface ReduceOptions {
  /** Keep the reduced axis with size 1 (default false). */
  keepdim?: boolean;
}

export interface VarianceOptions extends ReduceOptions {
  /** Divide by n - 1 instead of n (default true, like torch.var). */
  unbiased?: boolean;
}

function reduce(op: string, kind: Reduce, x: Tensor, axis: number, keepdim: boolean, correction = 0): Tensor {
  if (x.ndim === 0) throw new TensorError(`${op}: cannot reduce a 0-d tensor`);
  const a = normAxis(axis, x.ndim, op);
  const n = x.shape[a]!;
  if (n === 0 && kind === Reduce.Max)
    throw new TensorError(`${op}: cannot take the max over an empty axis ${a} of ${fmtShape(x.shape)}`);
  let outer = 1;
  for (let i = 0; i < a; i++) outer *= x.shape[i]!;
  let inner = 1;
  for (let i = a + 1; i < x.ndim; i++) inner *= x.shape[i]!;
  const shape = keepdim ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  const out = Tensor.zeros(shape);
  if (out.size === 0) return out;
  const { data, off } = dense(x);
  runRows(
    'reduce.axis',
    reduceRows,
    { x: data, xOff: off, out: out.data, n, inner, kind, correction },
    outer,
    n * inner * 2,
  );
  return out;
}

/** Sum along `axis`. */
export function sum(x: Tensor, axis: number, opts: ReduceOptions = {}): Tensor {
  return reduce('sum', Reduce.Sum, x, axis, opts.keepdim ?? false);
}

/** Mean along `axis`. */
export function mean(x: Tensor, axis: number, opts: ReduceOptions = {}): Tensor {
  return reduce('mean', Reduce.Mean, x, axis, opts.keepdim ?? false);
}

/** Maximum along `axis` (NaN propagates). */
export function max(x: Tensor, axis: number, opts: ReduceOptions = {}): Tensor {
  return reduce('max', Reduce.Max, x, axis, opts.keepdim ?? false);
}

/** Variance along `axis` (two-pass, float64); unbiased (n - 1) by default; NaN when the divisor is <= 0. */
export function variance(x: Tensor, axis: number, opts: VarianceOptions = {}): Tensor {
  return reduce('variance', Reduce.Var, x, axis, opts.keepdim ?? false, opts.unbiased === false ? 0 : 1);
}
