/**
 * The decode (matrix-vector) over a resident 16-bit W stored k-blocked (kblocked.ts): per k block, one pass of the
 * k-blocked dots (wasm/dots_emit.ts) over this thread's rows of that block, the rows' accumulators parked in scratch
 * between blocks. Every accumulator lane sums the same products in the same order as `matvecResident` over the
 * row-major W: bit-identical results, for any split of the rows.
 */

import { arenaScratch, arenaViews } from '../wasm/arena.js';
import { DOTS_FIRST, DOTS_LAST } from '../wasm/dots_emit.js';
import { residentWasm } from '../wasm/resident_runtime.js';
import { type MatmulArgs, storeRow } from './matmul_args.js';
import { stageRows } from './matmul_wasm.js';

type Dots = (...a: number[]) => number;

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * One pass over every k block for x row `i` (x at byte `x`, [m, k]): sums to `out` (cnt floats), accumulators at
 * `part` (64 bytes a row). Returns the kernels' flags or-ed (f16 finite-only kernels: 1 when a W pattern was Inf/NaN).
 */
function blocks(
  f: Dots,
  args: MatmulArgs,
  x: number,
  colStart: number,
  cnt: number,
  out: number,
  part: number,
): number {
  const { k, n } = args;
  const kb = args.bBlock!;
  let flag = 0;
  for (let b0 = 0; b0 < k; b0 += kb) {
    const bw = Math.min(kb, k - b0);
    const mode = (b0 === 0 ? DOTS_FIRST : 0) | (b0 + bw >= k ? DOTS_LAST : 0);
    flag |= f(x + b0 * 4, args.bArena! + (n * b0 + colStart * bw) * 2, bw, cnt, bw * 2, out, part, mode);
  }
  return flag;
}

/** Kernel: output columns [colStart, colEnd) of every x row, W resident, 16-bit and k-blocked (`bBlock`). */
export function matvecResidentKBlocked(args: MatmulArgs, colStart: number, colEnd: number): void {
  const w = residentWasm(args.arena)!;
  const { k, m } = args;
  const half = args.bHalf!;
  const cnt = colEnd - colStart;
  const xBytes = m * k * 4;
  const outBytes = roundUp(m * cnt * 4, 64);
  const base = arenaScratch(xBytes * (half === 2 ? 2 : 1) + outBytes + cnt * 64, args.arena);
  const X = base;
  const XS = X + xBytes;
  const OUT = XS + (half === 2 ? xBytes : 0);
  const PART = OUT + outBytes;
  const scaledOk = stageRows(args, arenaViews(args.arena).f32, X, XS);
  for (let i = 0; i < m; i++) {
    const oo = OUT + i * cnt * 4;
    // float16: the cheaper widening, rerun with the full one if W held an Inf or NaN (same values)
    const cheap =
      half === 2 &&
      (scaledOk
        ? blocks(w.dotsF16ScaledK, args, XS + i * k * 4, colStart, cnt, oo, PART)
        : blocks(w.dotsF16FiniteK, args, X + i * k * 4, colStart, cnt, oo, PART)) === 0;
    if (!cheap) blocks(half === 1 ? w.dotsBf16K : w.dotsF16K, args, X + i * k * 4, colStart, cnt, oo, PART);
    storeRow(args, i, colStart, cnt, arenaViews(args.arena).f32, OUT / 4 + i * cnt);
  }
}
