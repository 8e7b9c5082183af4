/**
 * `linear` with a packed sparse W: builds the kernel arguments and runs the decode (few rows) or prefill
 * kernel on the pool, split over output columns (each element is summed by one thread in a fixed order, so
 * any thread count gives the same bits).
 */
import { resolveBackend } from '../config.js';
import { FORMAT_2_4, FORMAT_SPARSE, type PackedArgs } from '../kernels/packed_js.js';
import type { PackedWeight } from '../packed.js';
import { parallelFor } from '../parallel/pool.js';
import { allocF32 } from '../storage.js';
import type { Tensor } from '../tensor.js';
import { arenaOf, arenaOffset } from '../wasm/arena.js';
import { MATVEC_MAX_ROWS, residentCost } from './matmul_dispatch.js';

const EMPTY32 = allocF32(0);
const EMPTY16 = new Uint16Array(0);

/** Writes `x [rows, k] W^T + b` into `c` (`[rows, n]`, dense from 0) for a packed W. */
export function packedLinear(
  x: Tensor,
  rows: number,
  rowStride: number,
  w: PackedWeight,
  bias: Tensor | null,
  c: Float32Array,
): void {
  const [n, k] = w.shape;
  if (rows === 0 || n === 0) return;
  const args: PackedArgs = {
    a: x.data,
    aOff: x.offset,
    aRowStride: rowStride,
    aKStride: x.strides[x.ndim - 1]!,
    format: w.format === '2:4' ? FORMAT_2_4 : FORMAT_SPARSE,
    half: w.dtype === 'f32' ? 0 : w.dtype === 'bf16' ? 1 : 2,
    values32: w.values instanceof Float32Array ? w.values : EMPTY32,
    values16: w.values instanceof Uint16Array ? w.values : EMPTY16,
    index: w.index,
    quads: w.quads,
    rowStart: w.rowStart,
    c,
    bias: bias ? bias.data : EMPTY32,
    biasOff: bias ? bias.offset : 0,
    biasStride: bias ? bias.strides[0]! : 0,
    m: rows,
    n,
    k,
    kp: w.paddedIn,
  };
  // Work per output column: the row's stored entries (half of kp for 2:4) times the x rows.
  const entries = w.format === '2:4' ? w.paddedIn / 2 : w.values.length / Math.max(n, 1);
  if (resolveBackend() !== 'wasm') {
    parallelFor('packed.js', args, n, { costPerRow: 2 * entries * rows });
    return;
  }
  // A resident W (wasm/resident.ts) is read in place by both kernels.
  // (packResident puts every array of a weight in one arena: one kernel instance reads them all)
  const vArena = arenaOffset(w.values);
  const all: PackedArgs =
    vArena < 0
      ? args
      : {
          ...args,
          arena: arenaOf(w.values),
          vArena,
          iArena: arenaOffset(w.index),
          qArena: arenaOffset(w.quads),
          rArena: w.rowPtr ? arenaOffset(w.rowPtr) : -1,
        };
  if (rows <= MATVEC_MAX_ROWS) {
    parallelFor('packed.matvecWasm', all, n, { costPerRow: residentCost((0.3 + rows / 10) * entries, all), align: 16 });
    return;
  }
  parallelFor('packed.gemmWasm', all, n, { costPerRow: (entries * rows) / 8, align: 16 });
}
