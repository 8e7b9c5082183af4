/**
 * One decode (matrix-vector) split over several resident weights that share their input (see matvecGroupKernel).
 */
import type { SharedWasmMemory } from '../parallel/types.js';
import type { MatmulArgs } from './matmul_args.js';
import { matvecResident } from './matmul_wasm.js';

/** Most weights `matvecGroupKernel` takes in one call. */
export const GROUP_MAX = 4;

/**
 * Arguments of `matvecGroupKernel`: x rows (`a`, `aOff`, strides, `m`, `k` as in MatmulArgs, batch 1) against
 * `parts` resident W (same k, same `bHalf` and `bBlock`) whose outputs are concatenated. `meta[4i..4i+4)` holds W i's row
 * count n, its arena byte offset, and its bias offset and stride; `c{i}` is its output `[m, n]` and `bias{i}`
 * its bias (empty when absent).
 */
export interface MatvecGroupArgs {
  readonly a: Float32Array;
  readonly aOff: Float64Array;
  readonly aRowStride: number;
  readonly aKStride: number;
  readonly m: number;
  readonly k: number;
  readonly bHalf: number;
  /** Every W's k block when they are k-blocked (kblocked.ts), else 0. */
  readonly bBlock: number;
  readonly arena: SharedWasmMemory;
  readonly parts: number;
  readonly meta: Float64Array;
  readonly c0: Float32Array;
  readonly c1: Float32Array;
  readonly c2: Float32Array;
  readonly c3: Float32Array;
  readonly bias0: Float32Array;
  readonly bias1: Float32Array;
  readonly bias2: Float32Array;
  readonly bias3: Float32Array;
}

/**
 * Kernel: columns [colStart, colEnd) of the concatenated outputs of several resident W sharing x (q/k/v, or gate
 * and up): one split, one pool handshake, for all of them. Each column is the same dot product as in
 * `matvecResident` on its own W (whatever the range), so results are bit-identical to separate calls.
 */
export function matvecGroupKernel(args: MatvecGroupArgs, colStart: number, colEnd: number): void {
  const cs = [args.c0, args.c1, args.c2, args.c3];
  const bs = [args.bias0, args.bias1, args.bias2, args.bias3];
  const meta = args.meta;
  let base = 0;
  for (let i = 0; i < args.parts && base < colEnd; i++) {
    const n = meta[4 * i]!;
    const lo = Math.max(colStart, base);
    const hi = Math.min(colEnd, base + n);
    if (lo < hi) {
      const part: MatmulArgs = {
        a: args.a,
        aOff: args.aOff,
        aRowStride: args.aRowStride,
        aKStride: args.aKStride,
        b: args.c0,
        bOff: args.aOff,
        bKStride: 1,
        bNStride: args.k,
        bHalf: args.bHalf,
        bBlock: args.bBlock,
        arena: args.arena,
        bArena: meta[4 * i + 1]!,
        c: cs[i]!,
        bias: bs[i]!,
        biasOff: meta[4 * i + 2]!,
        biasStride: meta[4 * i + 3]!,
        batch: 1,
        m: args.m,
        n,
        k: args.k,
      };
      matvecResident(part, lo - base, hi - base);
    }
    base += n;
  }
}
