/**
 * WebAssembly SIMD kernels for `linear` with a packed sparse W (module: ../wasm/packed_module.ts). Both split
 * the n output columns (W rows): chunks of W rows are block-copied into the module memory and run there.
 * Every output element is summed by one call in a fixed order, so any column split gives the same bits.
 */
import { BLOCK_2_4, group24, PAIR_SEQ, SLOT_SEQ, SLOT_WINDOWS, SPARSE_BLOCK } from '../packed.js';
import { arenaScratch, arenaViews } from '../wasm/arena.js';
import { X36_SLOT } from '../wasm/packed_module.js';
import { packedWasm } from '../wasm/packed_runtime.js';
import { TBL_ODD, TILE_BIAS, TILE_FIRST, TILE_LAST, TT } from '../wasm/packed_tiles.js';
import { residentWasm } from '../wasm/resident_runtime.js';
import {
  packedMatvecResident,
  pairTableBytes,
  residentSparse,
  run24,
  runSparse,
  type SparseLayout,
  stageTables,
  store,
} from './packed_decode.js';
import { FORMAT_2_4, type PackedArgs } from './packed_js.js';

/** Bytes of W copied per kernel call (stays in L2 while the x rows/tiles pass over it). */
const CHUNK_BYTES = 192 << 10;
/** Tokens whose x panels are packed at once in the prefill kernel. */
const TOKEN_CHUNK = 256;
const align = (x: number) => Math.ceil(x / 64) * 64;

/**
 * W rows [j0, j0 + cnt) of the 2:4 format copied to VB (values) / MB (metadata), in the format's layout
 * (../packed.ts: k blocks, each row after row) for a weight of cnt rows.
 */
function copy24(args: PackedArgs, j0: number, cnt: number, vb: number, mb: number): void {
  const v = packedWasm().view();
  const { n, kp } = args;
  for (let kb = 0; kb < kp; kb += BLOCK_2_4) {
    const width = Math.min(BLOCK_2_4, kp - kb);
    const src = group24(n, kp, j0, kb / 4);
    const dst = group24(cnt, kp, 0, kb / 4);
    const nv = (cnt * width) / 2;
    if (args.half) v.u16.set(args.values16.subarray(src.v, src.v + nv), vb / 2 + dst.v);
    else v.f32.set(args.values32.subarray(src.v, src.v + nv), vb / 4 + dst.v);
    v.u8.set(args.index.subarray(src.m, src.m + nv / 4), mb + dst.m);
  }
}

/**
 * Unstructured W rows [j0, j1) to the module, in the format's layout for a weight of j1 - j0 rows: i32 first pairs
 * ([blocks][rows], relative) at rp, group counts at qb, metadata words at ib, values at vb; returns the layout.
 */
function copySparse(args: PackedArgs, j0: number, j1: number, base: number): SparseLayout {
  const w = packedWasm();
  const { n } = args;
  const nb = args.kp / SPARSE_BLOCK;
  const cnt = j1 - j0;
  let pairs = 0;
  for (let b = 0; b < nb; b++) pairs += args.rowStart[b * n + j1]! - args.rowStart[b * n + j0]!;
  const wb = args.half ? 2 : 4;
  const rp = base;
  const qb = align(rp + 4 * nb * cnt);
  const ib = align(qb + nb * cnt);
  const vb = align(ib + 2 * pairs);
  w.ensure(align(vb + 2 * pairs * wb));
  const v = w.view();
  let at = 0;
  for (let b = 0; b < nb; b++) {
    const [e0, e1] = [args.rowStart[b * n + j0]!, args.rowStart[b * n + j1]!];
    for (let j = j0; j < j1; j++) v.i32[rp / 4 + b * cnt + j - j0] = args.rowStart[b * n + j]! - e0 + at;
    v.u8.set(args.quads.subarray(b * n + j0, b * n + j1), qb + b * cnt);
    v.u8.set(args.index.subarray(2 * e0, 2 * e1), ib + 2 * at);
    if (args.half) v.u16.set(args.values16.subarray(2 * e0, 2 * e1), vb / 2 + 2 * at);
    else v.f32.set(args.values32.subarray(2 * e0, 2 * e1), vb / 4 + 2 * at);
    at += e1 - e0;
  }
  return { vb, ib, qb, rp, nw: cnt };
}

/** Rows from j0 (at least one, at most `end`) whose unstructured pairs fit CHUNK_BYTES. */
function sparseChunkEnd(args: PackedArgs, j0: number, end: number): number {
  const per = 2 * (args.half ? 2 : 4) + 2;
  const nb = args.kp / SPARSE_BLOCK;
  const rowBytes = (j: number) => {
    let q = 0;
    for (let b = 0; b < nb; b++) q += args.quads[b * args.n + j]!;
    return 4 * q * per;
  };
  let bytes = rowBytes(j0);
  let j1 = j0 + 1;
  while (j1 < end && bytes + rowBytes(j1) <= CHUNK_BYTES) bytes += rowBytes(j1++);
  return j1;
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
    const slots = kp / 8;
    const x36 = slots * X36_SLOT;
    const chunk = Math.max(1, Math.floor(CHUNK_BYTES / ((kp / 2) * wb + slots)));
    const VB = m * x36;
    const MB = align(VB + chunk * (kp / 2) * wb);
    const OUT = align(MB + chunk * slots);
    const XS = align(OUT + m * chunk * 4);
    const PART = align(XS + kp * 4);
    w.ensure(PART + chunk * 16);
    stageTables(args, () => w.view().f32, w.x36, 0, x36, XS, 0);
    for (let j0 = colStart; j0 < colEnd; j0 += chunk) {
      const cnt = Math.min(chunk, colEnd - j0);
      copy24(args, j0, cnt, VB, MB);
      const lay = { vb: VB, mb: MB, nw: cnt, j0: 0 };
      for (let i = 0; i < m; i++) run24(w.dots24[half]!, args, lay, cnt, i * x36, PART, OUT + i * chunk * 4);
      const out = w.view().f32;
      for (let i = 0; i < m; i++) store(args, i, j0, cnt, out, OUT / 4 + i * chunk);
    }
    return;
  }
  const tb = pairTableBytes(kp);
  const XS = m * tb;
  const OUT = align(XS + kp * 4);
  for (let j0 = colStart; j0 < colEnd; ) {
    const j1 = sparseChunkEnd(args, j0, colEnd);
    const cnt = j1 - j0;
    const PART = align(OUT + m * cnt * 4);
    const lay = copySparse(args, j0, j1, PART + cnt * 16);
    if (j0 === colStart) stageTables(args, () => w.view().f32, w.x36, 0, tb, XS, 1);
    for (let i = 0; i < m; i++) runSparse(w.dotsSparse[half]!, kp, lay, cnt, i * tb, PART, OUT + i * cnt * 4);
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
  const chunk24 = Math.max(1, Math.floor(CHUNK_BYTES / ((kp / 2) * wb + kp / 8)));
  const maxRows = Math.min(colEnd - colStart, is24 ? chunk24 : SPARSE_MAX_ROWS);
  const panel = kp * TT * 4;
  const tiles = Math.ceil(Math.min(TOKEN_CHUNK, m) / TT);
  const ncols = colEnd - colStart;
  const ldo = ncols * 4;
  // layout (bytes from base): position table, x panels, output block [tiles * TT][ncols], bias, accumulator
  // tile, W copies
  const AP = align(Math.max(2 * TBL_ODD, 8 * PAIR_SEQ.length));
  const OUT = align(AP + tiles * panel);
  const BIAS = align(OUT + tiles * TT * ldo);
  const CT = align(BIAS + ldo);
  const OP = align(CT + (is24 ? maxRows * TT * 4 : 0));
  const WB = align(OP + (is24 ? BLOCK_2_4 * 4 : 0));
  const base = res ? arenaScratch(WB, args.arena) : 0;
  if (pw) pw.ensure(WB);
  const view = () => (res ? arenaViews(args.arena) : pw!.view());
  let v = view();
  // per window w of SLOT_SEQ: the panel byte offsets of its 4 kept values, in an even slot and in an odd one
  if (is24)
    for (const odd of [0, 1])
      for (let w = 0; w < SLOT_WINDOWS; w++)
        for (let l = 0; l < 4; l++)
          v.i32[(base + odd * TBL_ODD) / 4 + 4 * w + l] = (SLOT_SEQ[w + l]! + 8 * odd) * TT * 4;
  // unstructured: per window w of PAIR_SEQ, the panel byte offsets of its 2 positions
  else
    for (let w = 0; w + 1 < PAIR_SEQ.length; w++)
      for (let l = 0; l < 2; l++) v.i32[base / 4 + 2 * w + l] = PAIR_SEQ[w + l]! * TT * 4;
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
      // the W layout (rows nw, first row jw) that vp / ip point to
      let nw = args.n;
      let jw = j0;
      if (is24 && res) {
        vp = args.vArena!;
        ip = args.iArena!;
      } else if (is24) {
        vp = WB;
        ip = align(WB + cnt * (kp / 2) * wb);
        pw!.ensure(ip + cnt * (kp / 8));
        copy24(args, j0, cnt, vp, ip);
        [nw, jw] = [cnt, 0];
      } else {
        const lay = res ? residentSparse(args, j0) : copySparse(args, j0, j1, WB);
        [vp, ip, qp, rp, nw] = [lay.vb, lay.ib, lay.qb, lay.rp, lay.nw];
      }
      const out = base + OUT + (j0 - colStart) * 4;
      const bias = base + BIAS + (j0 - colStart) * 4;
      for (let p = 0; p < nt; p++) {
        const ap = base + AP + p * panel;
        if (is24) {
          // the format's k blocks: the block's x panel (BLOCK_2_4 * TT floats) stays in L1 while the rows pass
          for (let kb = 0; kb < kp; kb += BLOCK_2_4) {
            const kc = Math.min(BLOCK_2_4, kp - kb);
            const mode = (kb === 0 ? TILE_FIRST : 0) | (kb + kc >= kp ? last : 0);
            const g = group24(nw, kp, jw, kb / 4);
            k24[half]!(
              ap + kb * TT * 4,
              vp + g.v * wb,
              ip + g.m,
              kc / 8,
              cnt,
              base + CT,
              (kc / 2) * wb,
              kc / 8,
              base,
              mode,
              out + p * TT * ldo,
              ldo,
              bias,
              base + OP,
            );
          }
        } else
          kSparse[half]!(ap, vp, ip, qp, kp / SPARSE_BLOCK, cnt, rp, last, out + p * TT * ldo, ldo, bias, base, nw);
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
