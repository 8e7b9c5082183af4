/** Per-row selection: k-th smallest value (quickselect) and a stable ascending argsort. */
import { fmtShape, TensorError } from '../errors.js';
import { argsortRowsKernel, kthRows } from '../kernels/select.js';
import { allocF32, sharedMemoryAvailable } from '../storage.js';
import type { Tensor } from '../tensor.js';
import { dense, runRows } from './run.js';

function rows2d(op: string, x: Tensor): [number, number] {
  if (x.ndim !== 2) throw new TensorError(`${op}: x must be [rows, cols], got ${fmtShape(x.shape)}`);
  return [x.shape[0]!, x.shape[1]!];
}

/**
 * The k-th smallest value (k 0-based) of every row of `x` `[rows, cols]`, by quickselect on a copy
 * (x is not modified). NaN counts as larger than every number.
 */
export function kthSmallestPerRow(x: Tensor, k: number): Float32Array {
  const [rows, cols] = rows2d('kthSmallestPerRow', x);
  if (!Number.isInteger(k) || k < 0 || k >= cols) {
    throw new TensorError(
      `kthSmallestPerRow: k = ${k} out of range for rows of ${cols} values (x ${fmtShape(x.shape)})`,
    );
  }
  const out = allocF32(rows);
  const { data, off } = dense(x);
  runRows('select.kth', kthRows, { x: data, xOff: off, cols, k, out }, rows, cols * 12);
  return out;
}

/** Stable ascending argsort of every row of `x` `[rows, cols]` (flat `[rows * cols]`); NaN last, -0 equals 0. */
export function argsortRows(x: Tensor): Int32Array {
  const [rows, cols] = rows2d('argsortRows', x);
  const out = sharedMemoryAvailable
    ? new Int32Array(new SharedArrayBuffer(rows * cols * 4))
    : new Int32Array(rows * cols);
  const { data, off } = dense(x);
  runRows('select.argsort', argsortRowsKernel, { x: data, xOff: off, cols, out }, rows, cols * 20);
  return out;
}
