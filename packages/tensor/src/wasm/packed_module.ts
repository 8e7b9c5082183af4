/**
 * The packed-sparse module (formats in ../packed.ts): decode dot products and prefill tiles for 2:4 and
 * unstructured weights, with kept values stored as float32, bfloat16 or float16 (widened in the loop).
 *
 * Decode avoids any per-input work: a 2:4 row reads, per group of 4 inputs, one metadata byte and gathers its
 * two x values with one 64-bit load from `x6`, a per-call table holding for every group all 6 position pairs
 * of x; an unstructured row gathers x with 32-bit lane loads at its position bytes. Prefill runs 32 tokens per
 * pass: x is packed as panels [kp][32] and each kept value is splatted and multiplied with the 32 tokens of
 * its input (8 f32x4 accumulators per W row).
 */
import { Code, I32, ModuleBuilder, V128, type ValType } from './emitter.js';
import { emitWidenInit, emitWidenLoad, type WeightKind, widenLocals } from './half_emit.js';

/** Tokens per prefill pass. */
export const TT = 32;
/** Bytes of one group's x pairs in `x6` (6 pairs of 2 floats). */
export const X6_GROUP = 48;
export const KINDS = ['f32', 'bf16', 'f16'] as const;
export type ValueKind = (typeof KINDS)[number];

interface Fn {
  params: ValType[];
  locals: ValType[];
  code: Code;
}

const wBytes = (k: ValueKind) => (k === 'f32' ? 4 : 2);

/** Pushes 4 kept values at local `vr` (+ offset values) as an f32x4. */
function loadValues(c: Code, kind: ValueKind, vr: number, wl: number, offsetValues: number): void {
  c.get(vr);
  if (kind === 'f32') c.v128Load(offsetValues * 4);
  else emitWidenLoad(c, kind as WeightKind, wl, offsetValues * 2);
}

/** Stores the horizontal sum of `acc` as float32 at out + r*4. */
function storeSum(c: Code, acc: number, out: number, r: number): void {
  c.get(out).get(r).i32(2).shl().add();
  c.get(acc).f32x4ExtractLane(0).get(acc).f32x4ExtractLane(1).f32Add();
  c.get(acc).f32x4ExtractLane(2).get(acc).f32x4ExtractLane(3).f32Add();
  c.f32Add().f32Store(0);
}

/** Emits `for (r = 0; r < rows; r++) body()`. */
function forRows(c: Code, r: number, rows: number, body: () => void): void {
  c.i32(0).set(r);
  c.block();
  c.get(rows).eqz().brIf(0);
  c.loop();
  body();
  c.get(r).i32(1).add().tee(r).get(rows).ltU().brIf(0);
  c.end();
  c.end();
}

/** Emits `while (cnt > 0) { body(); cnt--; }` (local `cnt`). */
function countdown(c: Code, cnt: number, body: () => void): void {
  c.block();
  c.get(cnt).eqz().brIf(0);
  c.loop();
  body();
  c.get(cnt).i32(1).sub().tee(cnt).brIf(0);
  c.end();
  c.end();
}

interface SparseLocals {
  rowPtr: number;
  r: number;
  e: number;
  vp: number;
  vr: number;
  ip: number;
  ir: number;
  qp: number;
  qr: number;
  nb: number;
  b: number;
  q: number;
}

/**
 * Emits the walk over one unstructured row: pointers from rowPtr[r], then per 256-input block its 4-entry
 * groups (`group()`), advancing local `base` by `blockBytes` per block.
 */
function sparseRow(
  c: Code,
  kind: ValueKind,
  L: SparseLocals,
  base: number,
  blockBytes: number,
  group: () => void,
): void {
  c.get(L.rowPtr).get(L.r).i32(2).shl().add().i32Load(0).set(L.e);
  c.get(L.vp)
    .get(L.e)
    .i32(wBytes(kind) === 4 ? 2 : 1)
    .shl()
    .add()
    .set(L.vr);
  c.get(L.ip).get(L.e).add().set(L.ir);
  c.get(L.qp).get(L.r).get(L.nb).mul().add().set(L.qr);
  c.i32(0).set(L.b);
  c.block();
  c.get(L.nb).eqz().brIf(0);
  c.loop(); // blocks
  c.get(L.qr).get(L.b).add().i32Load8U(0).set(L.q);
  countdown(c, L.q, () => {
    group();
    c.inc(L.ir, 4).inc(L.vr, 4 * wBytes(kind));
  });
  c.inc(base, blockBytes);
  c.get(L.b).i32(1).add().tee(L.b).get(L.nb).ltU().brIf(0);
  c.end();
  c.end();
}

/** Stores the TT-token accumulators of row r at ct + r*TT*4. */
function storeTile(c: Code, ct: number, r: number, accs: number[]): void {
  for (let a = 0; a < accs.length; a++)
    c.get(ct)
      .get(r)
      .i32(TT * 4)
      .mul()
      .add()
      .get(accs[a]!)
      .v128Store(a * 16);
}

/** dots24(x6, vp, mp, iters, rows, out, ldv, ldm): 2:4 rows (iters = groups / 4; ldv, ldm in bytes). */
export function emitDots24(kind: ValueKind): Fn {
  const [x6, vp, mp, iters, rows, out, ldv, ldm] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, it, xr, vr, mr] = [8, 9, 10, 11, 12];
  const [acc0, acc1, acc2, acc3, g] = [13, 14, 15, 16, 17];
  const wl = 18;
  const c = new Code();
  // Four groups (16 inputs) at group offset q0 from the pointers, into accumulators a and b.
  const step = (q0: number, a: number, b: number) => {
    for (const [half, acc] of [
      [0, a],
      [1, b],
    ] as const) {
      const g0 = q0 + 2 * half;
      c.get(xr)
        .get(mr)
        .i32Load8U(g0)
        .add()
        .v128Load64Zero(g0 * X6_GROUP)
        .set(g);
      c.get(xr)
        .get(mr)
        .i32Load8U(g0 + 1)
        .add()
        .get(g)
        .v128Load64Lane((g0 + 1) * X6_GROUP, 1)
        .set(g);
      c.get(acc).get(g);
      loadValues(c, kind, vr, wl, 2 * g0);
      c.f32x4Mul().f32x4Add().set(acc);
    }
  };
  const advance = (groups: number) =>
    c
      .inc(xr, groups * X6_GROUP)
      .inc(mr, groups)
      .inc(vr, 2 * groups * wBytes(kind));
  emitWidenInit(c, kind as WeightKind, wl);
  forRows(c, r, rows, () => {
    c.get(x6).set(xr);
    c.get(vp).get(r).get(ldv).mul().add().set(vr);
    c.get(mp).get(r).get(ldm).mul().add().set(mr);
    for (const a of [acc0, acc1, acc2, acc3]) c.v128Zero().set(a);
    // two steps per pass (fewer loop instructions), then the odd step
    c.get(iters).i32(1).shrU().set(it);
    countdown(c, it, () => {
      step(0, acc0, acc1);
      step(4, acc2, acc3);
      advance(8);
    });
    c.get(iters).i32(1).and().if();
    step(0, acc0, acc1);
    c.end();
    c.get(acc0).get(acc1).f32x4Add().get(acc2).get(acc3).f32x4Add().f32x4Add().set(acc0);
    storeSum(c, acc0, out, r);
  });
  return {
    params: new Array(8).fill(I32),
    locals: [...new Array(5).fill(I32), ...new Array(5).fill(V128), ...widenLocals(kind as WeightKind)],
    code: c,
  };
}

/**
 * dotsSparse(x, vp, ip, qp, nb, rows, out, rowPtr): unstructured rows. x: nb blocks of 256 floats; rowPtr:
 * i32 entry offsets per row (relative to vp/ip); qp: [rows][nb] 4-entry group counts.
 */
export function emitDotsSparse(kind: ValueKind): Fn {
  const [x, vp, ip, qp, nb, rows, out, rowPtr] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, b, q, xb, vr, ir, qr, e] = [8, 9, 10, 11, 12, 13, 14, 15];
  const [acc, g] = [16, 17];
  const wl = 18;
  const L = { rowPtr, r, e, vp, vr, ip, ir, qp, qr, nb, b, q };
  const c = new Code();
  emitWidenInit(c, kind as WeightKind, wl);
  forRows(c, r, rows, () => {
    c.v128Zero().set(acc);
    c.get(x).set(xb);
    sparseRow(c, kind, L, xb, 1024, () => {
      c.get(xb).get(ir).i32Load8U(0).i32(2).shl().add().v128Load32Zero(0).set(g);
      for (let l = 1; l < 4; l++) c.get(xb).get(ir).i32Load8U(l).i32(2).shl().add().get(g).v128Load32Lane(0, l).set(g);
      c.get(acc).get(g);
      loadValues(c, kind, vr, wl, 0);
      c.f32x4Mul().f32x4Add().set(acc);
    });
    storeSum(c, acc, out, r);
  });
  return {
    params: new Array(8).fill(I32),
    locals: [...new Array(8).fill(I32), V128, V128, ...widenLocals(kind as WeightKind)],
    code: c,
  };
}

/** Lane indices that splat 32-bit lane `t` of the first operand. */
const splatLane = (t: number) => Array.from({ length: 16 }, (_, i) => 4 * t + (i % 4));

/**
 * Emits, for the 4 kept values in f32x4 local `w4`, acc[a] += splat(w4[t]) * A[addr_t + 16a] (a < TT/4),
 * where `addr(t)` pushes the byte address of kept value t's token panel row (kept in local `pa`).
 */
function emitTileStep(c: Code, w4: number, wv: number, pa: number, accs: number[], addr: (t: number) => void): void {
  for (let t = 0; t < 4; t++) {
    c.get(w4).get(w4).i8x16Shuffle(splatLane(t)).set(wv);
    addr(t);
    c.set(pa);
    for (let a = 0; a < accs.length; a++)
      c.get(accs[a]!)
        .get(pa)
        .v128Load(a * 16)
        .get(wv)
        .f32x4Mul()
        .f32x4Add()
        .set(accs[a]!);
  }
}

/** Locals of the tile kernels: `ints` i32 locals, the TT/4 accumulators, w4, wv, then the widener's. */
function tileLocals(
  kind: ValueKind,
  ints: number,
): { accs: number[]; w4: number; wv: number; wl: number; locals: ValType[] } {
  const NA = TT / 4;
  const first = ints;
  return {
    accs: Array.from({ length: NA }, (_, i) => first + i),
    w4: first + NA,
    wv: first + NA + 1,
    wl: first + NA + 2,
    locals: [...new Array(NA + 2).fill(V128), ...widenLocals(kind as WeightKind)],
  };
}

/**
 * tile24(ap, vp, mp, pairs, rows, ct, ldv, ldm, tbl, first): 2:4 prefill of one k block (2 * pairs groups)
 * over a [block][TT] x panel at ap, W rows from vp / mp (already offset to the block). The TT sums of each
 * row live in the tile at ct: zeroed when `first` is 1, else loaded and accumulated into.
 */
function emitTile24(kind: ValueKind): Fn {
  const [ap, vp, mp, pairs, rows, ct, ldv, ldm, tbl, first] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r, it, gp, vr, mr, a0, a1, pa] = [10, 11, 12, 13, 14, 15, 16, 17];
  const T = tileLocals(kind, 18);
  const c = new Code();
  emitWidenInit(c, kind as WeightKind, T.wl);
  forRows(c, r, rows, () => {
    c.get(ap).set(gp);
    c.get(vp).get(r).get(ldv).mul().add().set(vr);
    c.get(mp).get(r).get(ldm).mul().add().set(mr);
    c.get(first).if();
    for (const a of T.accs) c.v128Zero().set(a);
    c.else();
    for (let a = 0; a < T.accs.length; a++)
      c.get(ct)
        .get(r)
        .i32(TT * 4)
        .mul()
        .add()
        .v128Load(a * 16)
        .set(T.accs[a]!);
    c.end();
    c.get(pairs).set(it);
    countdown(c, it, () => {
      // two groups (4 kept values) per step
      loadValues(c, kind, vr, T.wl, 0);
      c.set(T.w4);
      // panel-row addresses of the two groups' pairs: gp + group*4*TT*4 + tbl[code] (p0) / tbl[code + 4] (p1)
      c.get(tbl).get(mr).i32Load8U(0).add().set(a0);
      c.get(tbl).get(mr).i32Load8U(1).add().set(a1);
      emitTileStep(c, T.w4, T.wv, pa, T.accs, (t) => {
        const grp = t >> 1;
        c.get(gp)
          .get(grp === 0 ? a0 : a1)
          .i32Load(4 * (t & 1))
          .add();
        if (grp === 1) c.i32(4 * TT * 4).add();
      });
      c.inc(gp, 2 * 4 * TT * 4)
        .inc(mr, 2)
        .inc(vr, 4 * wBytes(kind));
    });
    storeTile(c, ct, r, T.accs);
  });
  return { params: new Array(10).fill(I32), locals: [...new Array(8).fill(I32), ...T.locals], code: c };
}

/** tileSparse(ap, vp, ip, qp, nb, rows, ct, rowPtr): unstructured prefill over one [kp][TT] x panel. */
function emitTileSparse(kind: ValueKind): Fn {
  const [ap, vp, ip, qp, nb, rows, ct, rowPtr] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, b, q, ab, vr, ir, qr, e, pa] = [8, 9, 10, 11, 12, 13, 14, 15, 16];
  const T = tileLocals(kind, 17);
  const L = { rowPtr, r, e, vp, vr, ip, ir, qp, qr, nb, b, q };
  const c = new Code();
  emitWidenInit(c, kind as WeightKind, T.wl);
  forRows(c, r, rows, () => {
    for (const a of T.accs) c.v128Zero().set(a);
    c.get(ap).set(ab);
    sparseRow(c, kind, L, ab, 256 * TT * 4, () => {
      loadValues(c, kind, vr, T.wl, 0);
      c.set(T.w4);
      emitTileStep(c, T.w4, T.wv, pa, T.accs, (t) => {
        c.get(ab)
          .get(ir)
          .i32Load8U(t)
          .i32(Math.log2(TT * 4))
          .shl()
          .add();
      });
    });
    storeTile(c, ct, r, T.accs);
  });
  return { params: new Array(8).fill(I32), locals: [...new Array(9).fill(I32), ...T.locals], code: c };
}

const suffix = (k: ValueKind) => (k === 'f32' ? 'F32' : k === 'bf16' ? 'Bf16' : 'F16');

/**
 * The module's bytes: exports `memory` and, for each value kind (F32, Bf16, F16), `dots24*`, `dotsSparse*`,
 * `tile24*`, `tileSparse*`.
 */
export function buildPackedModule(memoryPages: number): Uint8Array {
  const m = new ModuleBuilder().addMemory(memoryPages);
  for (const kind of KINDS) {
    for (const [name, f] of [
      ['dots24', emitDots24(kind)],
      ['dotsSparse', emitDotsSparse(kind)],
      ['tile24', emitTile24(kind)],
      ['tileSparse', emitTileSparse(kind)],
    ] as const)
      m.addFunction(name + suffix(kind), f.params, [], f.locals, f.code);
  }
  return m.build();
}
