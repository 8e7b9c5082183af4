/**
 * Kernel arguments for `linear` with a packed sparse W (see ../packed.ts), and the plain-JS kernel: every
 * output element is one float64 sum over the row's kept entries in order, rounded once to float32.
 */
import { decodeBf16, decodeF16 } from '../dtype.js';
import { BLOCK_2_4, group24, pairPositions, SPARSE_BLOCK, slotPositions, stored24 } from '../packed.js';
import type { SharedWasmMemory } from '../parallel/types.js';

export interface PackedArgs {
  /** x rows `[m, k]`: element (i, kk) at a[aOff + i*aRowStride + kk*aKStride]. */
  readonly a: Float32Array;
  readonly aOff: number;
  readonly aRowStride: number;
  readonly aKStride: number;
  /** 1: 2:4, 2: sparse. */
  readonly format: number;
  /** 0: float32 values (`values32`), 1: bfloat16, 2: float16 (`values16`). */
  readonly half: number;
  readonly values32: Float32Array;
  readonly values16: Uint16Array;
  readonly index: Uint8Array;
  readonly quads: Uint8Array;
  readonly rowStart: Float64Array;
  /** Output `[m, n]`, contiguous. */
  readonly c: Float32Array;
  readonly bias: Float32Array;
  readonly biasOff: number;
  readonly biasStride: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Padded inputs per row (2:4: multiple of 16; sparse: of 256). */
  readonly kp: number;
  /**
   * The resident arena (wasm/arena.ts) and byte offsets of values / index / quads / int32 row
   * pointers in it when W is resident (`vArena` -1 otherwise): the kernel reads W in place.
   */
  readonly arena?: SharedWasmMemory | null;
  readonly vArena?: number;
  readonly iArena?: number;
  readonly qArena?: number;
  readonly rArena?: number;
}

export const FORMAT_2_4 = 1;
export const FORMAT_SPARSE = 2;

let rowVals = new Float32Array(0);
let rowCols = new Int32Array(0);
let rowTmp = new Float32Array(0);

/** Row j's kept entries as (column, float32 value) pairs into scratch; returns their count. */
function rowEntries(args: PackedArgs, j: number): number {
  const { kp } = args;
  const is24 = args.format === FORMAT_2_4;
  const nb = kp / SPARSE_BLOCK;
  let count = kp / 2;
  if (!is24) {
    count = 0;
    for (let b = 0; b < nb; b++) count += 8 * args.quads[b * args.n + j]!;
  }
  if (rowVals.length < count) {
    rowVals = new Float32Array(count);
    rowCols = new Int32Array(count);
    rowTmp = new Float32Array(count);
  }
  if (!is24) {
    let e = 0;
    for (let b = 0; b < nb; b++) {
      const start = args.rowStart[b * args.n + j]!;
      const cnt = 8 * args.quads[b * args.n + j]!;
      widenInto(args, 2 * start, cnt, rowVals, e);
      for (let i = 0; i < cnt; i += 2, e += 2) {
        const at = 2 * start + i;
        const [p0, p1] = pairPositions(args.index[at]! | (args.index[at + 1]! << 8));
        rowCols[e] = b * SPARSE_BLOCK + p0;
        rowCols[e + 1] = b * SPARSE_BLOCK + p1;
      }
    }
    return count;
  }
  // 2:4: the row's values block by block (../packed.ts: group24), 16-bit ones back from slot-pair interleaving
  for (let kb = 0; kb < kp; kb += BLOCK_2_4)
    widenInto(args, group24(args.n, kp, j, kb / 4).v, Math.min(BLOCK_2_4, kp - kb) / 2, rowTmp, kb / 2);
  for (let q = 0; q < kp / 4; q += 2) {
    const { m } = group24(args.n, kp, j, q);
    slotPositions(args.index[m]!).forEach((p, l) => {
      rowCols[2 * q + l] = 4 * q + p;
      rowVals[2 * q + l] = rowTmp[stored24(2 * q + l, args.half !== 0)]!;
    });
  }
  return count;
}

/** Values [start, start + count) of W as float32 into dst at `at`. */
function widenInto(args: PackedArgs, start: number, count: number, dst: Float32Array, at: number): void {
  const d = dst.subarray(at, at + count);
  if (args.half === 0) d.set(args.values32.subarray(start, start + count));
  else if (args.half === 1) decodeBf16(args.values16.subarray(start, start + count), d);
  else decodeF16(args.values16.subarray(start, start + count), d);
}

/** Kernel: output columns [colStart, colEnd) of every x row, plain JS. */
export function packedJsKernel(args: PackedArgs, colStart: number, colEnd: number): void {
  const { a, m, n, k, c, bias } = args;
  for (let j = colStart; j < colEnd; j++) {
    const cnt = rowEntries(args, j);
    const bj = bias.length > 0 ? bias[args.biasOff + j * args.biasStride]! : 0;
    for (let i = 0; i < m; i++) {
      const xo = args.aOff + i * args.aRowStride;
      let s = 0;
      for (let e = 0; e < cnt; e++) {
        const col = rowCols[e]!;
        if (col < k) s += rowVals[e]! * a[xo + col * args.aKStride]!;
      }
      const v = Math.fround(s);
      c[i * n + j] = bias.length > 0 ? v + bj : v;
    }
  }
}
