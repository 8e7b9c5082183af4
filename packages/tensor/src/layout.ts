import { fmtShape, TensorError } from './errors.js';

export type Shape = readonly number[];

/** Number of elements of a shape. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides of a shape. */
export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Validates a shape: non-negative integer dimensions. */
export function checkShape(shape: Shape, op = 'tensor'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new TensorError(`${op}: invalid shape ${fmtShape(shape)}`);
  }
}

/** True when (shape, strides) describe a dense row-major block. */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i]!;
  }
  return true;
}

/** Normalises a possibly negative axis. */
export function normAxis(axis: number, ndim: number, op = 'axis'): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= ndim)
    throw new TensorError(`${op}: axis ${axis} out of range for ${ndim}-d tensor`);
  return a;
}

/** NumPy-style broadcast of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new TensorError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a tensor of (shape, strides) as if it had shape `to` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, strides: readonly number[], to: Shape): number[] {
  const out = new Array<number>(to.length).fill(0);
  const off = to.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[off + i] = shape[i] === 1 ? 0 : strides[i]!;
  return out;
}
