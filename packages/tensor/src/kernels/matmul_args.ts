/**
 * Arguments shared by the matmul kernels: C[bi] = A[bi] B[bi] (+ bias) for bi < batch, with
 * A[bi] `[m, k]`, B[bi] `[k, n]` read through arbitrary element strides and C a fresh contiguous
 * `[batch * m, n]` array. `linear` passes W `[out, in]` as B with kStride = 1, nStride = in (no copy).
 */
import { decodeBf16, decodeF16 } from '../dtype.js';
import { readRowsKBlocked } from '../kblocked.js';
import type { SharedWasmMemory } from '../parallel/types.js';

export interface MatmulArgs {
  readonly a: Float32Array;
  /** Element offset of A[bi] in `a`, per batch entry. */
  readonly aOff: Float64Array;
  readonly aRowStride: number;
  readonly aKStride: number;
  readonly b: Float32Array;
  /** Element offset of B[bi] in `b`, per batch entry. */
  readonly bOff: Float64Array;
  readonly bKStride: number;
  readonly bNStride: number;
  /**
   * When `bHalf` is 1 (bfloat16) or 2 (float16), B is read from `b16` (16-bit patterns, widened exactly in the
   * kernels; `b` is then empty) instead of `b`. Only with bKStride 1 (W rows, as `linear` passes them).
   */
  readonly b16?: Uint16Array;
  readonly bHalf?: number;
  /**
   * With `bHalf`: 0 or absent when `b16` holds W `[n, k]` row-major (bNStride k), else the k block of its
   * k-blocked layout (kblocked.ts; batch 1, bOff 0, bNStride k).
   */
  readonly bBlock?: number;
  /**
   * The resident arena (wasm/arena.ts) and the byte offset of W's first element in it when W lives there
   * (-1 or absent otherwise): the matvec kernel then reads W in place instead of copying it.
   */
  readonly arena?: SharedWasmMemory | null;
  readonly bArena?: number;
  readonly c: Float32Array;
  /** Optional bias over n (length 0 when absent). */
  readonly bias: Float32Array;
  readonly biasOff: number;
  readonly biasStride: number;
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/**
 * Calls `fn(bi, m0, m1)` for each batch entry touched by the global row range [rowStart, rowEnd) of the
 * `[batch * m]` rows.
 */
export function forEachBatchRows(
  args: MatmulArgs,
  rowStart: number,
  rowEnd: number,
  fn: (bi: number, m0: number, m1: number) => void,
): void {
  const m = args.m;
  if (m === 0) return;
  let r = rowStart;
  while (r < rowEnd) {
    const bi = Math.floor(r / m);
    const m0 = r - bi * m;
    const m1 = Math.min(m, m0 + (rowEnd - r));
    fn(bi, m0, m1);
    r += m1 - m0;
  }
}

/** Writes C row `row` columns [j0, j0 + len) from `src[srcOff..]`, adding the bias when present. */
export function storeRow(
  args: MatmulArgs,
  row: number,
  j0: number,
  len: number,
  src: Float32Array,
  srcOff: number,
): void {
  const c = args.c;
  const o = row * args.n + j0;
  if (args.bias.length === 0) {
    c.set(src.subarray(srcOff, srcOff + len), o);
    return;
  }
  const bias = args.bias;
  const bs = args.biasStride;
  let bo = args.biasOff + j0 * bs;
  for (let j = 0; j < len; j++, bo += bs) c[o + j] = src[srcOff + j]! + bias[bo]!;
}

/** Exact float32 values of `len` 16-bit B elements from `start` (bHalf 1: bf16, 2: f16) into `dst[0..len)`. */
export function widenB(args: MatmulArgs, start: number, len: number, dst: Float32Array): Float32Array {
  const src = args.b16!.subarray(start, start + len);
  return args.bHalf === 1 ? decodeBf16(src, dst) : decodeF16(src, dst);
}

let rowTmp = new Uint16Array(0);

/** Exact float32 values of 16-bit W row `col` (k elements) of batch entry `bi` into `dst[0..k)`, any layout. */
export function widenRowB(args: MatmulArgs, bi: number, col: number, dst: Float32Array): Float32Array {
  const k = args.k;
  if (!args.bBlock) return widenB(args, args.bOff[bi]! + col * args.bNStride, k, dst);
  if (rowTmp.length < k) rowTmp = new Uint16Array(k);
  readRowsKBlocked(args.b16!, args.n, k, args.bBlock, col, 1, rowTmp, 0, k);
  const src = rowTmp.subarray(0, k);
  return args.bHalf === 1 ? decodeBf16(src, dst) : decodeF16(src, dst);
}
