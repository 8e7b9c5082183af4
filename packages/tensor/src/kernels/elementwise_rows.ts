/**
 * Row-kernel adapters that let the element-wise loops of elementwise.ts run on the worker pool
 * (`(args, rowStart, rowEnd)`; registered as `ew.unary` and `ew.binary`). Every output element depends
 * only on its own inputs, so any split gives identical bits.
 */
import { type BinOp, binaryBroadcast, type UnOp, unaryFlat } from './elementwise.js';

/** Elements per kernel "row" for flat (unary, or dense same-shape binary) work. */
export const EW_BLOCK = 8192;

export type UnaryBlocksArgs = {
  readonly op: UnOp;
  readonly x: Float32Array; // n contiguous elements from xOff
  readonly xOff: number;
  readonly out: Float32Array; // [n]
  readonly n: number;
  readonly s: number;
};

/** Unary op over elements [b0 * EW_BLOCK, b1 * EW_BLOCK) (clipped to n). */
export function unaryBlocks(a: UnaryBlocksArgs, b0: number, b1: number): void {
  const i0 = b0 * EW_BLOCK;
  const i1 = Math.min(a.n, b1 * EW_BLOCK);
  if (i1 > i0) unaryFlat(a.op, a.x, a.xOff + i0, a.out.subarray(i0, i1), i1 - i0, a.s);
}

export type BinaryRowsArgs = {
  readonly op: BinOp;
  readonly a: Float32Array;
  readonly aOff: number;
  readonly b: Float32Array;
  readonly bOff: number;
  readonly out: Float32Array; // contiguous, shape `dims[0..nd)`
  /** [shape (nd), a's broadcast strides (nd), b's broadcast strides (nd)]. */
  readonly dims: Float64Array;
  readonly nd: number;
  /** 1: a and b are dense in the output's layout; rows are then EW_BLOCK-element blocks. */
  readonly flat: number;
  readonly n: number;
};

/** Binary op over rows [r0, r1): EW_BLOCK blocks when flat, else indices along the first axis. */
export function binaryRows(p: BinaryRowsArgs, r0: number, r1: number): void {
  if (p.flat) {
    const i0 = r0 * EW_BLOCK;
    const i1 = Math.min(p.n, r1 * EW_BLOCK);
    if (i1 > i0)
      binaryBroadcast(p.op, p.a, p.aOff + i0, [1], p.b, p.bOff + i0, [1], p.out.subarray(i0, i1), [i1 - i0], true);
    return;
  }
  const nd = p.nd;
  const shape = Array.from(p.dims.subarray(0, nd));
  const sa = Array.from(p.dims.subarray(nd, 2 * nd));
  const sb = Array.from(p.dims.subarray(2 * nd, 3 * nd));
  let inner = 1;
  for (let d = 1; d < nd; d++) inner *= shape[d]!;
  shape[0] = r1 - r0;
  const out = p.out.subarray(r0 * inner, r1 * inner);
  binaryBroadcast(p.op, p.a, p.aOff + r0 * sa[0]!, sa, p.b, p.bOff + r0 * sb[0]!, sb, out, shape, false);
}
