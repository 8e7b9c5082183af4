/**
 * Decode (few x rows) pieces of the packed kernels shared by packed_wasm.ts's copying path and the resident path
 * here: x staging and tables, the per-k-block kernel runs, output stores; the decode over a resident W (read in
 * place in the arena), alone or as a group of weights sharing x (q/k/v; gate and up: one pool split, one x table).
 */
import { BLOCK_2_4, group24, PAIR_SLOT, PAIR_SLOT_BYTES, SPARSE_BLOCK } from '../packed.js';
import type { SharedWasmMemory } from '../parallel/types.js';
import { arenaScratch, arenaViews } from '../wasm/arena.js';
import { X36_SLOT } from '../wasm/packed_module.js';
import { TILE_FIRST, TILE_LAST } from '../wasm/packed_tiles.js';
import { residentWasm } from '../wasm/resident_runtime.js';
import { FORMAT_2_4, type PackedArgs } from './packed_js.js';

/** Writes out[0..cnt) (+ bias) into C row `row` at columns j0.. */
export function store(args: PackedArgs, row: number, j0: number, cnt: number, out: Float32Array, off: number): void {
  const o = row * args.n + j0;
  const { bias, biasOff, biasStride } = args;
  if (bias.length === 0) {
    args.c.set(out.subarray(off, off + cnt), o);
    return;
  }
  for (let j = 0; j < cnt; j++) args.c[o + j] = out[off + j]! + bias[biasOff + (j0 + j) * biasStride]!;
}

/** x row i (float32, zero padded to kp) into f at float index `d`. */
function stageX(args: PackedArgs, i: number, f: Float32Array, d: number): void {
  const src = args.aOff + i * args.aRowStride;
  const { k, kp, a, aKStride } = args;
  if (aKStride === 1) f.set(a.subarray(src, src + k), d);
  else for (let kk = 0; kk < k; kk++) f[d + kk] = a[src + kk * aKStride]!;
  f.fill(0, d + k, d + kp);
}

/**
 * dots24 over rows [j0, j0 + cnt) of a 2:4 W laid out for nw rows at byte offsets vb / mb, one call per k
 * block (partial sums per row at `part`, 16 bytes each), for x's table at x36: float32 sums to out.
 */
export function run24(
  f: (...a: number[]) => unknown,
  args: PackedArgs,
  lay: { vb: number; mb: number; nw: number; j0: number },
  cnt: number,
  x36: number,
  part: number,
  out: number,
): void {
  const { kp } = args;
  const wb = args.half ? 2 : 4;
  for (let kb = 0; kb < kp; kb += BLOCK_2_4) {
    const width = Math.min(BLOCK_2_4, kp - kb);
    const { v, m } = group24(lay.nw, kp, lay.j0, kb / 4);
    const mode = (kb === 0 ? TILE_FIRST : 0) | (kb + width >= kp ? TILE_LAST : 0);
    const slots = width / 8;
    f(x36 + (kb / 8) * X36_SLOT, lay.vb + v * wb, lay.mb + m, slots, cnt, part, (width / 2) * wb, slots, mode, out);
  }
}

/** Where an unstructured W's arrays are (byte offsets of its first row) and its rows (the block stride). */
export interface SparseLayout {
  vb: number;
  ib: number;
  qb: number;
  rp: number;
  nw: number;
}

/**
 * dotsSparse over `cnt` unstructured rows of layout `lay`, one call per k block over x's pair tables at `tables`
 * (accumulators at `part`, 16 bytes per row): float32 sums to out.
 */
export function runSparse(
  f: (...a: number[]) => unknown,
  kp: number,
  lay: SparseLayout,
  cnt: number,
  tables: number,
  part: number,
  out: number,
): void {
  const nb = kp / SPARSE_BLOCK;
  const blockTable = (SPARSE_BLOCK / PAIR_SLOT) * PAIR_SLOT_BYTES;
  for (let b = 0; b < nb; b++) {
    const mode = (b === 0 ? TILE_FIRST : 0) | (b === nb - 1 ? TILE_LAST : 0);
    f(tables + b * blockTable, lay.vb, lay.ib, lay.qb + b * lay.nw, cnt, out, lay.rp + 4 * b * lay.nw, part, mode);
  }
}

/**
 * The decode's x tables (wasm/packed_module.ts's x36; `mode` 0: 2:4, 1: unstructured pairs) of every x row at
 * byte `at` (row pitch `pitch` bytes), built from x staged at `xs` (kp floats).
 */
export function stageTables(
  args: PackedArgs,
  f: () => Float32Array,
  build: (...a: number[]) => unknown,
  at: number,
  pitch: number,
  xs: number,
  mode: 0 | 1,
): void {
  for (let i = 0; i < args.m; i++) {
    stageX(args, i, f(), xs / 4);
    build(xs, at + i * pitch, mode ? args.kp / PAIR_SLOT : args.kp / 8, mode);
  }
}

/** The layout of a resident unstructured W from row j0 (read in place). */
export const residentSparse = (args: PackedArgs, j0: number): SparseLayout => ({
  vb: args.vArena!,
  ib: args.iArena!,
  qb: args.qArena! + j0,
  rp: args.rArena! + 4 * j0,
  nw: args.n,
});

/** Bytes of one x row's unstructured pair tables. */
export const pairTableBytes = (kp: number) => (kp / PAIR_SLOT) * PAIR_SLOT_BYTES;

/** Where a resident decode's x tables, outputs and accumulators are in this thread's arena scratch. */
interface Staged {
  tables: number;
  pitch: number;
  out: number;
  part: number;
}

/** Stages the x tables of a resident decode (for up to `cnt` output columns per run) in the arena scratch. */
function stageResident(args: PackedArgs, cnt: number): Staged {
  const w = residentWasm(args.arena)!;
  const { m, kp } = args;
  const is24 = args.format === FORMAT_2_4;
  const pitch = is24 ? (kp / 8) * X36_SLOT : pairTableBytes(kp);
  const tables = arenaScratch(m * pitch + m * cnt * 4 + kp * 4 + cnt * 16, args.arena);
  const out = tables + m * pitch;
  const xs = out + m * cnt * 4;
  stageTables(args, () => arenaViews(args.arena).f32, w.x36, tables, pitch, xs, is24 ? 0 : 1);
  return { tables, pitch, out, part: xs + kp * 4 };
}

/** Output columns [colStart, colEnd) of a resident W over the staged x tables, stored into C. */
function runResident(args: PackedArgs, colStart: number, colEnd: number, s: Staged): void {
  const w = residentWasm(args.arena)!;
  const { m, kp, half } = args;
  const cnt = colEnd - colStart;
  for (let i = 0; i < m; i++) {
    const [t, o] = [s.tables + i * s.pitch, s.out + i * cnt * 4];
    if (args.format === FORMAT_2_4)
      run24(w.dots24[half]!, args, { vb: args.vArena!, mb: args.iArena!, nw: args.n, j0: colStart }, cnt, t, s.part, o);
    else runSparse(w.dotsSparse[half]!, kp, residentSparse(args, colStart), cnt, t, s.part, o);
  }
  const f = arenaViews(args.arena).f32;
  for (let i = 0; i < m; i++) store(args, i, colStart, cnt, f, s.out / 4 + i * cnt);
}

/** The decode kernel over a resident W (read in place in the arena; x and outputs in this thread's scratch). */
export function packedMatvecResident(args: PackedArgs, colStart: number, colEnd: number): void {
  runResident(args, colStart, colEnd, stageResident(args, colEnd - colStart));
}

/** Most weights `packedMatvecGroupKernel` takes in one call. */
export const PACKED_GROUP_MAX = 4;
/** Numbers per weight in `PackedGroupArgs.meta`. */
export const PACKED_GROUP_META = 8;

/**
 * Arguments of `packedMatvecGroupKernel`: x rows (as in PackedArgs) against `parts` resident packed W of one
 * format, dtype, k and arena, whose outputs are concatenated. `meta[8i..8i+8)`: W i's rows n, arena byte offsets
 * of its values, index, quads and int32 row pointers (-1: none), its bias offset and stride; `c{i}` its output
 * `[m, n]`, `bias{i}` its bias (empty when absent).
 */
export interface PackedGroupArgs {
  readonly a: Float32Array;
  readonly aOff: number;
  readonly aRowStride: number;
  readonly aKStride: number;
  readonly format: number;
  readonly half: number;
  readonly m: number;
  readonly k: number;
  readonly kp: number;
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

const [EMPTY32, EMPTY16, EMPTY8, EMPTY64] = [
  new Float32Array(0),
  new Uint16Array(0),
  new Uint8Array(0),
  new Float64Array(0),
];

/**
 * Kernel: columns [colStart, colEnd) of the concatenated outputs of a group (q/k/v, or gate and up): one split,
 * one pool handshake and one x table per thread for all of them. Each column is summed as by
 * `packedMatvecResident` on its own W, so results are bit-identical to separate calls.
 */
export function packedMatvecGroupKernel(args: PackedGroupArgs, colStart: number, colEnd: number): void {
  const cs = [args.c0, args.c1, args.c2, args.c3];
  const bs = [args.bias0, args.bias1, args.bias2, args.bias3];
  const meta = args.meta;
  let staged: Staged | null = null;
  let base = 0;
  for (let i = 0; i < args.parts && base < colEnd; i++) {
    const o = PACKED_GROUP_META * i;
    const n = meta[o]!;
    const [lo, hi] = [Math.max(colStart, base), Math.min(colEnd, base + n)];
    if (lo < hi) {
      const part: PackedArgs = {
        a: args.a,
        aOff: args.aOff,
        aRowStride: args.aRowStride,
        aKStride: args.aKStride,
        format: args.format,
        half: args.half,
        m: args.m,
        n,
        k: args.k,
        kp: args.kp,
        arena: args.arena,
        c: cs[i]!,
        bias: bs[i]!,
        biasOff: meta[o + 5]!,
        biasStride: meta[o + 6]!,
        vArena: meta[o + 1]!,
        iArena: meta[o + 2]!,
        qArena: meta[o + 3]!,
        rArena: meta[o + 4]!,
        // the resident path reads W through the arena offsets only
        values32: EMPTY32,
        values16: EMPTY16,
        index: EMPTY8,
        quads: EMPTY8,
        rowStart: EMPTY64,
      };
      staged ??= stageResident(part, colEnd - colStart);
      runResident(part, lo - base, hi - base, staged);
    }
    base += n;
  }
}
