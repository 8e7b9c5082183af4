import { emitAxpy } from './axpy_emit.js';
import { emitDots } from './dots_emit.js';
import { Code, F32, I32, ModuleBuilder, V128, type ValType } from './emitter.js';
import { emitGemmW, emitUntileW, MW } from './gemm_w_emit.js';
import { emitWiden } from './half_emit.js';

/**
 * Register tile of the SIMD matmul: MR rows of A by NR columns of B (NR / 4 vectors per row), k unrolled
 * UNROLL times. Measured on Zen 4 / Node 20 (kernel in cache): 4x8 and 2x16 without unrolling reach ~50
 * GFLOP/s per thread; 4x12 or any unrolling only ~27-34, because V8 hoists the loads and spills
 * accumulators.
 */
export const MR = 4;
export const NR = 8;
export const UNROLL = 1;
export const PACKED_A = true;
const DEFAULT_MR = MR;
const DEFAULT_NR = NR;

export interface MatmulModuleOptions {
  /** Use relaxed-SIMD `f32x4.relaxed_madd` instead of mul + add. */
  fma: boolean;
  /** Reload B vectors from L1 for every row instead of holding them in registers (fewer live registers). */
  reloadB: boolean;
  /** Tile rows (default MR) and columns (default NR, a multiple of 4), k unroll (default UNROLL, a power of 2): for tuning. */
  mr?: number;
  nr?: number;
  unroll?: number;
  /** A interleaved as MR-row panels [kc][MR] (one pointer) instead of plain rows with stride lda. */
  packedA?: boolean;
  /** bf16 dots widening by interleaving with zeros (x in plain order) instead of the split kernel: for tuning. */
  bf16Zip?: boolean;
  /** dots: rows per pass sharing the x loads (default 1, see dots_emit.ts): for tuning. */
  dotsRows?: number;
}

/**
 * gebp(ap, bp, cp, mPanels, nPanels, kc, lda, cps, first)
 *
 * C[mPanels*MR, nPanels*NR] (+)= A[mPanels*MR, kc] * B[kc, nPanels*NR], all byte pointers into memory:
 * - A: packed MR-row panels [kc][MR] (panel ir at ap + ir*MR*lda, lda = kc*4), or with packedA false,
 *   plain rows with stride `lda` bytes;
 * - B: packed panels of NR columns, panel p at bp + p*kc*NR*4, laid out [kc][NR];
 * - C: tiled, so that each MR x NR tile is one contiguous block of MR*NR floats (row-major inside) and
 *   consecutive row panels are adjacent: tile (ir, jr) at cp + jr*cps + ir*MR*NR*4 (`cps`: bytes between
 *   column panels). Contiguous tiles keep the C traffic sequential (a row-major C with a 3 KB row stride
 *   maps a tile column onto 4 L1 sets and stalls on L3 latency). When `first` is 0 the tile is loaded and
 *   accumulated into.
 * Every C element is one accumulator chain over k = 0..kc-1 in order, whatever its position in the tile.
 */
function emitGebp(o: MatmulModuleOptions): { params: ValType[]; locals: ValType[]; code: Code } {
  const MR = o.mr ?? DEFAULT_MR;
  const NR = o.nr ?? DEFAULT_NR;
  const NV = NR / 4;
  const U = o.unroll ?? UNROLL; // a power of two
  const PA = o.packedA ?? PACKED_A;
  const [ap, bp, cp, mPanels, nPanels, kc, lda, cps, first] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [jr, ir, k, ctile, bpanel, arow, bptr] = [9, 10, 11, 12, 13, 14, 15];
  const aPtr = (r: number) => 16 + r;
  const V0 = 16 + MR;
  const acc = (r: number, j: number) => V0 + r * NV + j;
  const bv = (j: number) => V0 + MR * NV + j;
  const av = V0 + MR * NV + NV;
  const params: ValType[] = new Array(9).fill(I32);
  const locals: ValType[] = [...new Array(7 + MR).fill(I32), ...new Array(MR * NV + NV + 1).fill(V128)];

  const c = new Code();
  // One k step reading A at +offA bytes and B at +offB bytes from the current pointers.
  const step = (offA: number, offB: number) => {
    if (!o.reloadB)
      for (let j = 0; j < NV; j++)
        c.get(bptr)
          .v128Load(offB + j * 16)
          .set(bv(j));
    for (let r = 0; r < MR; r++) {
      if (PA)
        c.get(aPtr(0))
          .v128Load32Splat(offA * MR + r * 4)
          .set(av);
      else c.get(aPtr(r)).v128Load32Splat(offA).set(av);
      for (let j = 0; j < NV; j++) {
        const loadB = () => (o.reloadB ? c.get(bptr).v128Load(offB + j * 16) : c.get(bv(j)));
        if (o.fma) {
          c.get(av);
          loadB();
          c.get(acc(r, j)).f32x4RelaxedMadd().set(acc(r, j));
        } else {
          c.get(acc(r, j)).get(av);
          loadB();
          c.f32x4Mul().f32x4Add().set(acc(r, j));
        }
      }
    }
  };

  c.get(bp).set(bpanel);
  c.i32(0).set(jr);
  c.loop(); // jr
  c.get(ap).set(arow);
  c.get(cp).get(jr).get(cps).mul().add().set(ctile);
  c.i32(0).set(ir);
  c.loop(); // ir
  // accumulators
  c.get(first).if();
  for (let r = 0; r < MR; r++) for (let j = 0; j < NV; j++) c.v128Zero().set(acc(r, j));
  c.else();
  for (let r = 0; r < MR; r++)
    for (let j = 0; j < NV; j++)
      c.get(ctile)
        .v128Load((r * NV + j) * 16)
        .set(acc(r, j));
  c.end();
  for (let r = 0; r < (PA ? 1 : MR); r++) {
    c.get(arow);
    if (r > 0) c.get(lda).i32(r).mul().add();
    c.set(aPtr(r));
  }
  c.get(bpanel).set(bptr);
  // k loop, unrolled U times, then the remainder one step at a time (same order)
  if (U === 1) {
    // loop until the B pointer reaches the end of the panel (no separate counter to keep in a register)
    c.get(bpanel)
      .get(kc)
      .i32(NR * 4)
      .mul()
      .add()
      .set(k);
    c.block();
    c.get(kc).eqz().brIf(0);
    c.loop();
    step(0, 0);
    for (let r = 0; r < (PA ? 1 : MR); r++) c.inc(aPtr(r), (PA ? MR : 1) * 4);
    c.inc(bptr, NR * 4);
    c.get(bptr).get(k).ne().brIf(0);
    c.end();
    c.end();
  } else {
    c.get(kc).i32(Math.log2(U)).shrU().set(k);
    c.block();
    c.get(k).eqz().brIf(0);
    c.loop();
    for (let u = 0; u < U; u++) step(4 * u, NR * 4 * u);
    for (let r = 0; r < (PA ? 1 : MR); r++) c.inc(aPtr(r), (PA ? MR : 1) * 4 * U);
    c.inc(bptr, NR * 4 * U);
    c.get(k).i32(1).sub().tee(k).brIf(0);
    c.end();
    c.end();
  }
  if (U > 1) {
    c.get(kc)
      .i32(U - 1)
      .and()
      .set(k);
    c.block();
    c.get(k).eqz().brIf(0);
    c.loop();
    step(0, 0);
    for (let r = 0; r < (PA ? 1 : MR); r++) c.inc(aPtr(r), (PA ? MR : 1) * 4);
    c.inc(bptr, NR * 4);
    c.get(k).i32(1).sub().tee(k).brIf(0);
    c.end();
    c.end();
  }
  // store the tile
  for (let r = 0; r < MR; r++)
    for (let j = 0; j < NV; j++)
      c.get(ctile)
        .get(acc(r, j))
        .v128Store((r * NV + j) * 16);
  c.get(arow).get(lda).i32(MR).mul().add().set(arow);
  c.inc(ctile, MR * NR * 4);
  c.get(ir).i32(1).add().tee(ir).get(mPanels).ltU().brIf(0);
  c.end(); // ir
  c.get(bpanel)
    .get(kc)
    .i32(NR * 4)
    .mul()
    .add()
    .set(bpanel);
  c.get(jr).i32(1).add().tee(jr).get(nPanels).ltU().brIf(0);
  c.end(); // jr
  return { params, locals, code: c };
}

/**
 * untile(src, dst, rows, nPanels, cps, bias, hasBias): turns the tiled C of one gebp call (column panels
 * `cps` bytes apart, row i of a panel at +i*NR*4) into row-major rows of nPanels*NR floats at dst, adding
 * the NR-padded bias vector at `bias` when hasBias is 1 (one f32 add per element, like the plain kernels).
 */
function emitUntile(o: MatmulModuleOptions): { params: ValType[]; locals: ValType[]; code: Code } {
  const NR = o.nr ?? DEFAULT_NR;
  const NV = NR / 4;
  const [src, dst, rows, nPanels, cps, bias, hasBias] = [0, 1, 2, 3, 4, 5, 6];
  const [i, p, s, d, bp] = [7, 8, 9, 10, 11];
  const params: ValType[] = new Array(7).fill(I32);
  const locals: ValType[] = new Array(5).fill(I32);
  const c = new Code();
  c.block();
  c.get(rows).eqz().brIf(0);
  c.get(nPanels).eqz().brIf(0);
  c.get(dst).set(d);
  c.i32(0).set(i);
  c.loop(); // rows
  c.get(src)
    .get(i)
    .i32(NR * 4)
    .mul()
    .add()
    .set(s);
  c.get(bias).set(bp);
  c.i32(0).set(p);
  c.loop(); // panels
  for (let j = 0; j < NV; j++)
    c.get(d)
      .get(s)
      .v128Load(j * 16)
      .v128Store(j * 16);
  c.get(hasBias).if();
  for (let j = 0; j < NV; j++)
    c.get(d)
      .get(d)
      .v128Load(j * 16)
      .get(bp)
      .v128Load(j * 16)
      .f32x4Add()
      .v128Store(j * 16);
  c.end();
  c.inc(d, NR * 4)
    .inc(bp, NR * 4)
    .incBy(s, cps);
  c.get(p).i32(1).add().tee(p).get(nPanels).ltU().brIf(0);
  c.end();
  c.get(i).i32(1).add().tee(i).get(rows).ltU().brIf(0);
  c.end();
  c.end();
  return { params, locals, code: c };
}

/**
 * pack(stage, dst, kc, nPanels): interleaves rows staged at `stage` (row j at stage + j*STAGE_STRIDE bytes,
 * k contiguous) into panels of `width` rows: dst panel p, laid out [kc][width], holds rows p*width ..
 * p*width + width-1. Emitted as `packA` (width MR) and `packB` (width NR; the rows are those of W).
 */
function emitPack(width: number, stageStride: number): { params: ValType[]; locals: ValType[]; code: Code } {
  const NR = width;
  const [stage, dst, kc, nPanels] = [0, 1, 2, 3];
  const [p, k, sp, dp] = [4, 5, 6, 7];
  const params: ValType[] = new Array(4).fill(I32);
  const locals: ValType[] = new Array(4).fill(I32);
  const c = new Code();
  c.block();
  c.get(kc).eqz().brIf(0);
  c.get(nPanels).eqz().brIf(0);
  c.get(dst).set(dp);
  c.i32(0).set(p);
  c.loop(); // panels
  c.get(stage)
    .get(p)
    .i32(NR * stageStride)
    .mul()
    .add()
    .set(sp);
  c.get(kc).set(k);
  c.loop(); // k
  for (let j = 0; j < NR; j++)
    c.get(dp)
      .get(sp)
      .f32Load(j * stageStride)
      .f32Store(j * 4);
  c.inc(sp, 4).inc(dp, NR * 4);
  c.get(k).i32(1).sub().tee(k).brIf(0);
  c.end();
  c.get(p).i32(1).add().tee(p).get(nPanels).ltU().brIf(0);
  c.end();
  c.end();
  return { params, locals, code: c };
}

/** Byte stride of staged W rows for packB (rows of up to KC = 256 floats). */
export const STAGE_STRIDE = 256 * 4;

/**
 * The matmul module's bytes: exports `memory`, `gebp`, `dots` (+ `dotsBf16`, `dotsF16`), `untile`, `packA`,
 * `packB`, `gemmW` / `untileW` / `packAW` (gemm_w_emit.ts), `widenBf16` / `widenF16` and `dotsF16Finite` (f16 without the Inf/NaN fix-up).
 */
export function buildMatmulModule(o: MatmulModuleOptions, memoryPages: number): Uint8Array {
  const m = new ModuleBuilder().addMemory(memoryPages);
  const g = emitGebp(o);
  m.addFunction('gebp', g.params, [], g.locals, g.code);
  const d = emitDots(o);
  m.addFunction('dots', d.params, d.results, d.locals, d.code);
  for (const [name, kind] of [
    ['dotsBf16', 'bf16'],
    ['dotsF16', 'f16'],
    ['dotsF16Finite', 'f16finite'],
    ['dotsF16Scaled', 'f16scaled'],
  ] as const) {
    const h = emitDots(o, kind);
    m.addFunction(name, h.params, h.results, h.locals, h.code);
  }
  for (const kind of ['bf16', 'f16'] as const) {
    const w = emitWiden(kind);
    m.addFunction(w.name, w.params, [], w.locals, w.code);
  }
  const u = emitUntile(o);
  m.addFunction('untile', u.params, [], u.locals, u.code);
  const ax = emitAxpy();
  m.addFunction('axpy', ax.params, [], ax.locals, ax.code);
  const pa = emitPack(o.mr ?? DEFAULT_MR, STAGE_STRIDE);
  m.addFunction('packA', pa.params, [], pa.locals, pa.code);
  const pb = emitPack(o.nr ?? DEFAULT_NR, STAGE_STRIDE);
  m.addFunction('packB', pb.params, [], pb.locals, pb.code);
  const gw = emitGemmW(o);
  m.addFunction('gemmW', gw.params, [], gw.locals, gw.code);
  const uw = emitUntileW();
  m.addFunction('untileW', uw.params, [], uw.locals, uw.code);
  const pw = emitPack(MW, STAGE_STRIDE);
  m.addFunction('packAW', pw.params, [], pw.locals, pw.code);
  return m.build();
}

/** A minimal module using an f32x4 op, to feature-detect SIMD with WebAssembly.validate. */
export function simdProbe(relaxed: boolean): Uint8Array {
  const c = new Code().v128Zero().v128Zero();
  if (relaxed) c.v128Zero().f32x4RelaxedMadd();
  else c.f32x4Add();
  c.f32x4ExtractLane(0);
  const m = new ModuleBuilder();
  m.addFunction('f', [], [F32], [], c);
  return m.build();
}
