/**
 * Runs the element-wise loops through the pool (ops/run.ts): unary ops and dense binary ops in blocks of
 * EW_BLOCK elements, broadcasting binary ops along the first non-unit axis of the output.
 */
import type { BinOp, UnOp } from '../kernels/elementwise.js';
import { binaryRows, EW_BLOCK, unaryBlocks } from '../kernels/elementwise_rows.js';
import { allocF64, persistent } from '../storage.js';
import { runRows } from './run.js';

/**
 * The shape/stride table of a binary call, in shared memory reused by every call (calls never overlap: the pool
 * is not re-entrant). A plain array would be copied to shared memory per call and make a split call post its
 * arguments as a message instead of through the shared job record.
 */
// made at load, so that no call's allocations include it (memory tests compare a pass's allocations exactly)
let dimsScratch: Float64Array = persistent(() => allocF64(24));
function dimsTable(len: number): Float64Array {
  if (dimsScratch.length < len) dimsScratch = persistent(() => allocF64(len)); // more than 8 axes
  return dimsScratch.subarray(0, len);
}

/** Estimated ns per element, by unary op code (Neg, Exp, Relu, Sigmoid, Silu, GeluErf, GeluTanh, Scale). */
const UNARY_NS = [2, 12, 3, 12, 12, 40, 35, 2]; // measured CPU time per element, rounded down

/** out[i] = f(x[xOff + i]) for i < n. */
export function runUnary(op: UnOp, x: Float32Array, xOff: number, out: Float32Array, n: number, s: number): void {
  const blocks = Math.ceil(n / EW_BLOCK);
  runRows('ew.unary', unaryBlocks, { op, x, xOff, out, n, s }, blocks, EW_BLOCK * (UNARY_NS[op] ?? 10));
}

/** out = a op b over `shape`, with a's and b's strides already broadcast to it (`flat`: both dense). */
export function runBinary(
  op: BinOp,
  a: Float32Array,
  aOff: number,
  sa: readonly number[],
  b: Float32Array,
  bOff: number,
  sb: readonly number[],
  out: Float32Array,
  shape: readonly number[],
  flat: boolean,
): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (n === 0) return;
  if (flat || shape.length <= 1) {
    // 0-d and 1-d outputs with broadcast/strided inputs are small or dense in practice: keep one path.
    if (!flat && shape.length === 1) {
      const dims = dimsTable(3);
      dims.set([shape[0]!, sa[0]!, sb[0]!]);
      const args = { op, a, aOff, b, bOff, out, dims, nd: 1, flat: 0, n };
      runRows('ew.binary', binaryRows, args, shape[0]!, 2);
      return;
    }
    const dims = dimsTable(0);
    runRows(
      'ew.binary',
      binaryRows,
      { op, a, aOff, b, bOff, out, dims, nd: 0, flat: 1, n },
      Math.ceil(n / EW_BLOCK),
      EW_BLOCK * 2,
    );
    return;
  }
  // Drop leading unit axes so that the split axis has extent.
  let lead = 0;
  while (lead < shape.length - 1 && shape[lead] === 1) lead++;
  const nd = shape.length - lead;
  const dims = dimsTable(3 * nd);
  for (let d = 0; d < nd; d++) {
    dims[d] = shape[lead + d]!;
    dims[nd + d] = sa[lead + d]!;
    dims[2 * nd + d] = sb[lead + d]!;
  }
  const rows = shape[lead]!;
  runRows('ew.binary', binaryRows, { op, a, aOff, b, bOff, out, dims, nd, flat: 0, n }, rows, (n / rows) * 2);
}
