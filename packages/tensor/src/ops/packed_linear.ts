/**
 * `linear` with a packed sparse W: builds the kernel arguments and runs the decode (few rows) or prefill
 * kernel on the pool, split over output columns (each element is summed by one thread in a fixed order, so
 * any thread count gives the same bits).
 */
import { resolveBackend } from '../config.js';
import { PACKED_GROUP_MAX, PACKED_GROUP_META } from '../kernels/packed_decode.js';
import { FORMAT_2_4, FORMAT_SPARSE, type PackedArgs } from '../kernels/packed_js.js';
import type { PackedWeight } from '../packed.js';
import { parallelFor } from '../parallel/pool.js';
import { allocF32, allocF64, allocU16 } from '../storage.js';
import { Tensor } from '../tensor.js';
import { arenaOf, arenaOffset } from '../wasm/arena.js';
import { MATVEC_MAX_ROWS, residentCost } from './matmul_dispatch.js';

/** The kernels' format code of a packed W (PackedArgs.format). */
const formatCode = (w: PackedWeight): number => (w.format === '2:4' ? FORMAT_2_4 : FORMAT_SPARSE);
/** The kernels' value-type code of a packed W (PackedArgs.half): 0 float32, 1 bfloat16, 2 float16. */
const halfCode = (w: PackedWeight): number => (w.dtype === 'f32' ? 0 : w.dtype === 'bf16' ? 1 : 2);
const EMPTY32 = allocF32(0);
// shared like every other argument (a plain buffer among a split call's arguments makes the pool copy them)
const EMPTY16 = allocU16(0);

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
  // A resident W (wasm/resident.ts) is read in place by both kernels (packResident puts every array of a weight
  // in one arena: one kernel instance reads them all). One object literal: spreading a kernel's arguments into a
  // second object cost ~20 us per call and made every young-generation GC slow (measured: Node 20, 1 thread).
  const vArena = arenaOffset(w.values);
  const resident = vArena >= 0;
  const args: PackedArgs = {
    a: x.data,
    aOff: x.offset,
    aRowStride: rowStride,
    aKStride: x.strides[x.ndim - 1]!,
    format: formatCode(w),
    half: halfCode(w),
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
    arena: resident ? arenaOf(w.values) : null,
    vArena,
    iArena: resident ? arenaOffset(w.index) : -1,
    qArena: resident ? arenaOffset(w.quads) : -1,
    rArena: resident && w.rowPtr ? arenaOffset(w.rowPtr) : -1,
  };
  // Work per output column: the row's stored entries (half of kp for 2:4) times the x rows.
  const entries = w.format === '2:4' ? w.paddedIn / 2 : w.values.length / Math.max(n, 1);
  if (resolveBackend() !== 'wasm') {
    parallelFor('packed.js', args, n, { costPerRow: 2 * entries * rows });
    return;
  }
  if (rows <= MATVEC_MAX_ROWS) {
    parallelFor('packed.matvecWasm', args, n, {
      costPerRow: residentCost((0.3 + rows / 10) * entries, args),
      align: 16,
    });
    return;
  }
  parallelFor('packed.gemmWasm', args, n, { costPerRow: (entries * rows) / 8, align: 16 });
}

// Per-weight numbers of a packed group call (reused by every call, like ops/matmul.ts's GROUP_META).
const GROUP_META = allocF64(PACKED_GROUP_META * PACKED_GROUP_MAX);

/**
 * `linear(x, ws[i], bs[i])` for packed weights sharing x at decode sizes, as one pool split
 * ('packed.matvecGroup'), when every W is resident in one arena with one format, dtype and k (else null: the
 * caller runs them one by one). Results are bit-identical to separate calls. x: `[..., k]` as `rows` rows.
 */
export function packedLinearGroup(
  x: Tensor,
  rows: number,
  rowStride: number,
  shape: readonly number[],
  ws: readonly PackedWeight[],
  bs: readonly (Tensor | null | undefined)[],
): Tensor[] | null {
  const w0 = ws[0];
  if (!w0 || ws.length < 2 || ws.length > PACKED_GROUP_MAX || rows === 0 || rows > MATVEC_MAX_ROWS) return null;
  if (resolveBackend() !== 'wasm') return null;
  const arena = arenaOf(w0.values);
  const k = shape[shape.length - 1]!;
  for (let i = 0; i < ws.length; i++) {
    const [w, b] = [ws[i]!, bs[i]];
    if (w.format !== w0.format || w.dtype !== w0.dtype || w.shape[1] !== k || arenaOf(w.values) !== arena) return null;
    if (!arena || arenaOffset(w.values) < 0 || (w.format === 'sparse' && !w.rowPtr)) return null;
    if (b && (b.ndim !== 1 || b.shape[0] !== w.shape[0])) return null;
  }
  const outs = ws.map((w) => Tensor.zeros([...shape.slice(0, -1), w.shape[0]]));
  const args: Record<string, unknown> = {
    a: x.data,
    aOff: x.offset,
    aRowStride: rowStride,
    aKStride: x.strides[x.ndim - 1]!,
    format: formatCode(w0),
    half: halfCode(w0),
    m: rows,
    k,
    kp: w0.paddedIn,
    arena,
    parts: ws.length,
    meta: GROUP_META,
  };
  let n = 0;
  let entries = 0;
  for (let i = 0; i < PACKED_GROUP_MAX; i++) {
    const [w, b] = [ws[i], bs[i]];
    args[`c${i}`] = w ? outs[i]!.data : EMPTY32;
    args[`bias${i}`] = w && b ? b.data : EMPTY32;
    if (!w) continue;
    const ptr = w.rowPtr ? arenaOffset(w.rowPtr) : -1;
    const meta = [w.shape[0], arenaOffset(w.values), arenaOffset(w.index), arenaOffset(w.quads), ptr];
    GROUP_META.set([...meta, b ? b.offset : 0, b ? b.strides[0]! : 0, 0], PACKED_GROUP_META * i);
    n += w.shape[0];
    entries += w.format === '2:4' ? w.paddedIn / 2 : w.values.length;
  }
  // work per output column as in packedLinear, averaged over the group
  const cost = residentCost(((0.3 + rows / 10) * entries) / Math.max(n, 1), { n, vArena: 0 });
  parallelFor('packed.matvecGroup', args as never, n, { costPerRow: cost, align: 16 });
  return outs;
}
