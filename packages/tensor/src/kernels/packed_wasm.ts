/**
 * WebAssembly SIMD kernels for `linear` with a packed sparse W (module: ../wasm/packed_module.ts). Both split
 * the n output columns (W rows): chunks of W rows are block-copied into the module memory and run there.
 * Every output element is summed by one call in a fixed order, so any column split gives the same bits.
 */
import { PAIRS_2_4, SPARSE_BLOCK } from '../packed.js';
import { arenaScratch, arenaViews } from '../wasm/arena.js';
import { X6_GROUP } from '../wasm/packed_module.js';
import { packedWasm } from '../wasm/packed_runtime.js';
import { TILE_BIAS, TILE_FIRST, TILE_LAST, TT } from '../wasm/packed_tiles.js';
import { residentWasm } from '../wasm/resident_runtime.js';
import { FORMAT_2_4, type PackedArgs } from './packed_js.js';

/** Bytes of W copied per kernel call (stays in L2 while the x rows/tiles pass over it). */
const CHUNK_BYTES = 192 << 10;
/** Inputs per k block of the 2:4 prefill (a multiple of 16). */
const KC = 256;
/** Tokens whose x panels are packed at once in the prefill kernel. */
const TOKEN_CHUNK = 256;
const align = (x: number) => Math.ceil(x / 64) * 64;

/** Writes out[0..cnt) (+ bias) into C row `row` at columns j0.. */
function store(args: PackedArgs, row: number, j0: number, cnt: number, out: Float32Array, off: number): void {
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

/** W rows [j0, j0 + cnt) of the 2:4 format (values, then metadata) copied to VB / MB. */
function copy24(args: PackedArgs, j0: number, cnt: number, vb: number, mb: number): void {
  const v = packedWasm().view();
  const hv = args.kp / 2;
  const g = args.kp / 4;
  if (args.half) v.u16.set(args.values16.subarray(j0 * hv, (j0 + cnt) * hv), vb / 2);
  else v.f32.set(args.values32.subarray(j0 * hv, (j0 + cnt) * hv), vb / 4);
  v.u8.set(args.index.subarray(j0 * g, (j0 + cnt) * g), mb);
}

/**
 * Unstructured W rows [j0, j1) to the module: row pointers (i32, relative) at RP, quads at QB, position bytes
 * at IB, values at VB; returns the layout's end (bytes).
 */
function copySparse(
  args: PackedArgs,
  j0: number,
  j1: number,
  base: number,
): { rp: number; qb: number; ib: number; vb: number; end: number } {
  const w = packedWasm();
  const nb = args.kp / SPARSE_BLOCK;
  const e0 = args.rowStart[j0]!;
  const e1 = args.rowStart[j1]!;
  const wb = args.half ? 2 : 4;
  const rp = base;
  const qb = align(rp + 4 * (j1 - j0 + 1));
  const ib = align(qb + (j1 - j0) * nb);
  const vb = align(ib + (e1 - e0));
  const end = align(vb + (e1 - e0) * wb);
  w.ensure(end);
  const v = w.view();
  for (let j = j0; j <= j1; j++) v.i32[rp / 4 + j - j0] = args.rowStart[j]! - e0;
  v.u8.set(args.quads.subarray(j0 * nb, j1 * nb), qb);
  v.u8.set(args.index.subarray(e0, e1), ib);
  if (args.half) v.u16.set(args.values16.subarray(e0, e1), vb / 2);
  else v.f32.set(args.values32.subarray(e0, e1), vb / 4);
  return { rp, qb, ib, vb, end };
}

/** Rows from j0 (at least one, at most `end`) whose unstructured entries fit CHUNK_BYTES. */
function sparseChunkEnd(args: PackedArgs, j0: number, end: number): number {
  const per = (args.half ? 2 : 4) + 1;
  const limit = args.rowStart[j0]! + CHUNK_BYTES / per;
  let j1 = j0 + 1;
  while (j1 < end && args.rowStart[j1 + 1]! <= limit) j1++;
  return j1;
}

let xsScratch = new Float32Array(0);

/** x6 of every x row at byte `at` (row pitch `x6` bytes): for every group, x at each of its 6 position pairs. */
function stageX6(args: PackedArgs, f: Float32Array, at: number, x6: number): void {
  const { m, kp } = args;
  const groups = kp / 4;
  if (xsScratch.length < kp) xsScratch = new Float32Array(kp);
  const xs = xsScratch;
  for (let i = 0; i < m; i++) {
    stageX(args, i, xs, 0);
    const base = (at + i * x6) / 4;
    for (let g = 0; g < groups; g++)
      for (let c = 0; c < 6; c++) {
        f[base + g * 12 + 2 * c] = xs[4 * g + PAIRS_2_4[c]![0]]!;
        f[base + g * 12 + 2 * c + 1] = xs[4 * g + PAIRS_2_4[c]![1]]!;
      }
  }
}

/** The decode kernel over a resident W (read in place in the arena; x and outputs in this thread's scratch). */
function packedMatvecResident(args: PackedArgs, colStart: number, colEnd: number): void {
  const w = residentWasm(args.arena)!;
  const { m, kp, half } = args;
  const wb = half ? 2 : 4;
  const cnt = colEnd - colStart;
  if (args.format === FORMAT_2_4) {
    const groups = kp / 4;
    const x6 = align(groups * X6_GROUP);
    const base = arenaScratch(m * x6 + m * cnt * 4);
    const OUT = base + m * x6;
    stageX6(args, arenaViews().f32, base, x6);
    const vb = args.vArena! + colStart * (kp / 2) * wb;
    const mb = args.iArena! + colStart * groups;
    for (let i = 0; i < m; i++)
      w.dots24[half]!(base + i * x6, vb, mb, groups / 4, cnt, OUT + i * cnt * 4, (kp / 2) * wb, groups);
    for (let i = 0; i < m; i++) store(args, i, colStart, cnt, arenaViews().f32, OUT / 4 + i * cnt);
    return;
  }
  const nb = kp / SPARSE_BLOCK;
  const base = arenaScratch(m * kp * 4 + m * cnt * 4);
  const OUT = base + m * kp * 4;
  const f = arenaViews().f32;
  for (let i = 0; i < m; i++) stageX(args, i, f, base / 4 + i * kp);
  const qp = args.qArena! + colStart * nb;
  const rp = args.rArena! + colStart * 4;
  for (let i = 0; i < m; i++)
    w.dotsSparse[half]!(base + i * kp * 4, args.vArena!, args.iArena!, qp, nb, cnt, OUT + i * cnt * 4, rp);
  for (let i = 0; i < m; i++) store(args, i, colStart, cnt, arenaViews().f32, OUT / 4 + i * cnt);
}

/** Kernel: output columns [colStart, colEnd) for few x rows (decode). */
export function packedMatvecWasmKernel(args: PackedArgs, colStart: number, colEnd: number): void {
  if ((args.vArena ?? -1) >= 0) {
    packedMatvecResident(args, colStart, colEnd);
    return;
  }
  const w = packedWasm();
  const { m, kp, half } = args;
  const wb = half ? 2 : 4;
  if (args.format === FORMAT_2_4) {
    const groups = kp / 4;
    const x6 = align(groups * X6_GROUP);
    const chunk = Math.max(1, Math.floor(CHUNK_BYTES / ((kp / 2) * wb + groups)));
    const VB = m * x6;
    const MB = align(VB + chunk * (kp / 2) * wb);
    const OUT = align(MB + chunk * groups);
    w.ensure(OUT + m * chunk * 4);
    stageX6(args, w.view().f32, 0, x6);
    for (let j0 = colStart; j0 < colEnd; j0 += chunk) {
      const cnt = Math.min(chunk, colEnd - j0);
      copy24(args, j0, cnt, VB, MB);
      for (let i = 0; i < m; i++)
        w.dots24[half]!(i * x6, VB, MB, groups / 4, cnt, OUT + i * chunk * 4, (kp / 2) * wb, groups);
      const out = w.view().f32;
      for (let i = 0; i < m; i++) store(args, i, j0, cnt, out, OUT / 4 + i * chunk);
    }
    return;
  }
  const nb = kp / SPARSE_BLOCK;
  const X = 0;
  const OUT = align(m * kp * 4);
  for (let j0 = colStart; j0 < colEnd; ) {
    const j1 = sparseChunkEnd(args, j0, colEnd);
    const cnt = j1 - j0;
    const lay = copySparse(args, j0, j1, align(OUT + m * cnt * 4));
    const f = w.view().f32;
    if (j0 === colStart) for (let i = 0; i < m; i++) stageX(args, i, f, X / 4 + i * kp);
    for (let i = 0; i < m; i++)
      w.dotsSparse[half]!(X + i * kp * 4, lay.vb, lay.ib, lay.qb, nb, cnt, OUT + i * cnt * 4, lay.rp);
    const out = w.view().f32;
    for (let i = 0; i < m; i++) store(args, i, j0, cnt, out, OUT / 4 + i * cnt);
    j0 = j1;
  }
}

/** Packs tokens [t0, t0 + TT) of x as a panel [kp][TT] at float index `d0` (inputs k..kp zero; the lanes of
 * missing tokens are left as they are: every token lane is computed on its own). */
function packPanel(args: PackedArgs, t0: number, f: Float32Array, d0: number): void {
  const { k, kp, a, aKStride } = args;
  f.fill(0, d0 + k * TT, d0 + kp * TT);
  const tt = Math.min(TT, args.m - t0);
  for (let t = 0; t < tt; t++) {
    const src = args.aOff + (t0 + t) * args.aRowStride;
    for (let kk = 0, d = d0 + t; kk < k; kk++, d += TT) f[d] = a[src + kk * aKStride]!;
  }
}

/** Most W rows per prefill chunk of the unstructured format (bounds the output block). */
const SPARSE_MAX_ROWS = 1024;

/**
 * Kernel: output columns [colStart, colEnd) of every x row (prefill). Per token chunk, x is packed as panels of
 * TT tokens; per chunk of W rows (read in place when resident, else block-copied), every panel runs the tile
 * kernel, which writes the chunk's outputs (+ bias) into an output block [tokens][columns], copied into C one
 * token row at a time (small copies out of shared memory cost more than the kernel's scattered stores).
 */
export function packedGemmWasmKernel(args: PackedArgs, colStart: number, colEnd: number): void {
  const resident = (args.vArena ?? -1) >= 0;
  const res = resident ? residentWasm(args.arena)! : null;
  const pw = resident ? null : packedWasm();
  const k24 = res ? res.tile24 : pw!.tile24;
  const kSparse = res ? res.tileSparse : pw!.tileSparse;
  const { m, kp, half } = args;
  const wb = half ? 2 : 4;
  const is24 = args.format === FORMAT_2_4;
  const hasBias = args.bias.length > 0;
  const chunk24 = Math.max(1, Math.floor(CHUNK_BYTES / ((kp / 2) * wb + kp / 4)));
  const maxRows = Math.min(colEnd - colStart, is24 ? chunk24 : SPARSE_MAX_ROWS);
  const panel = kp * TT * 4;
  const tiles = Math.ceil(Math.min(TOKEN_CHUNK, m) / TT);
  const ncols = colEnd - colStart;
  const ldo = ncols * 4;
  // layout (bytes from base): pair table, x panels, output block [tiles * TT][ncols], bias, accumulator tile,
  // W copies
  const AP = 64;
  const OUT = align(AP + tiles * panel);
  const BIAS = align(OUT + tiles * TT * ldo);
  const CT = align(BIAS + ldo);
  const WB = align(CT + (is24 ? maxRows * TT * 4 : 0));
  const base = res ? arenaScratch(WB) : 0;
  if (pw) pw.ensure(WB);
  const view = () => (res ? arenaViews() : pw!.view());
  let v = view();
  for (let c = 0; c < 6; c++) {
    v.i32[base / 4 + 2 * c] = PAIRS_2_4[c]![0] * TT * 4;
    v.i32[base / 4 + 2 * c + 1] = PAIRS_2_4[c]![1] * TT * 4;
  }
  if (hasBias)
    for (let j = 0; j < ncols; j++)
      v.f32[(base + BIAS) / 4 + j] = args.bias[args.biasOff + (colStart + j) * args.biasStride]!;
  const last = TILE_LAST | (hasBias ? TILE_BIAS : 0);
  for (let tc = 0; tc < m; tc += TOKEN_CHUNK) {
    const nt = Math.ceil(Math.min(TOKEN_CHUNK, m - tc) / TT);
    v = view();
    for (let p = 0; p < nt; p++) packPanel(args, tc + p * TT, v.f32, (base + AP + p * panel) / 4);
    for (let j0 = colStart; j0 < colEnd; ) {
      const j1 = is24 ? Math.min(colEnd, j0 + chunk24) : sparseChunkEnd(args, j0, Math.min(colEnd, j0 + maxRows));
      const cnt = j1 - j0;
      // W pointers of the chunk
      let vp: number;
      let ip: number;
      let qp = 0;
      let rp = 0;
      if (is24 && res) {
        vp = args.vArena! + j0 * (kp / 2) * wb;
        ip = args.iArena! + j0 * (kp / 4);
      } else if (is24) {
        vp = WB;
        ip = align(WB + cnt * (kp / 2) * wb);
        pw!.ensure(ip + cnt * (kp / 4));
        copy24(args, j0, cnt, vp, ip);
      } else if (res) {
        [vp, ip] = [args.vArena!, args.iArena!];
        qp = args.qArena! + j0 * (kp / SPARSE_BLOCK);
        rp = args.rArena! + j0 * 4;
      } else {
        const lay = copySparse(args, j0, j1, WB);
        [vp, ip, qp, rp] = [lay.vb, lay.ib, lay.qb, lay.rp];
      }
      const out = base + OUT + (j0 - colStart) * 4;
      const bias = base + BIAS + (j0 - colStart) * 4;
      for (let p = 0; p < nt; p++) {
        const ap = base + AP + p * panel;
        if (is24) {
          // k blocks of KC inputs: the block's x panel (KC * TT floats) stays in L1 while the rows pass
          for (let kb = 0; kb < kp; kb += KC) {
            const kc = Math.min(KC, kp - kb);
            const mode = (kb === 0 ? TILE_FIRST : 0) | (kb + kc >= kp ? last : 0);
            k24[half]!(
              ap + kb * TT * 4,
              vp + (kb / 2) * wb,
              ip + kb / 4,
              kc / 4,
              cnt,
              base + CT,
              (kp / 2) * wb,
              kp / 4,
              base,
              mode,
              out + p * TT * ldo,
              ldo,
              bias,
            );
          }
        } else kSparse[half]!(ap, vp, ip, qp, kp / SPARSE_BLOCK, cnt, rp, last, out + p * TT * ldo, ldo, bias);
      }
      j0 = j1;
    }
    // the output block into C rows tc.., columns colStart..
    const f = view().f32;
    const o = (base + OUT) / 4;
    for (let t = 0; t < Math.min(TOKEN_CHUNK, m - tc); t++)
      args.c.set(f.subarray(o + t * ncols, o + (t + 1) * ncols), (tc + t) * args.n + colStart);
  }
}
