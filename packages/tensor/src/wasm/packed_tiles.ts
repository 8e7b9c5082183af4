/**
 * Prefill tiles of the packed-sparse formats (../packed.ts): TT tokens per pass. x is packed as panels
 * [kp][TT] (input-major); each kept value is splatted and multiplied with the TT tokens of its input, into
 * TT/4 f32x4 accumulators per W row. One group (2 kept values) per loop step, each x vector used as soon
 * as it is loaded: V8 then keeps the 8 accumulators in registers (a 4-value step had all its loads hoisted
 * and spilled, at half the speed), and a step costs 66 instructions for 64 multiply-adds. The last k block
 * writes each row's TT sums transposed, as column r of an output block [TT][ldo bytes], with the bias added.
 */

import { PAIR_SLOT, PAIR_SLOT_BYTES, SLOT_WINDOWS, SPARSE_BLOCK } from '../packed.js';
import { Code, I32, V128, type ValType } from './emitter.js';
import { emitWidenInit, type WeightKind, widenLocals } from './half_emit.js';
import { type Fn, forRows, i32Load16U, loadValues, sparseRow, type ValueKind, wBytes } from './packed_emit.js';

/** Bytes of tile24's position table for an even slot (16 per window of ../packed.ts's SLOT_SEQ); the odd one follows. */
export const TBL_ODD = SLOT_WINDOWS * 16;
/** Tokens per prefill pass. */
export const TT = 32;
/** `mode` bits of the tiles: zero the accumulators (first k block); write the output (last); add the bias. */
export const TILE_FIRST = 1;
export const TILE_LAST = 2;
export const TILE_BIAS = 4;

/** Lane indices that splat 32-bit lane `t` of the first operand. */
const splatLane = (t: number) => Array.from({ length: 16 }, (_, i) => 4 * t + (i % 4));

/** Locals of the tiles: the TT/4 accumulators, w2, wa, wb, hi, o, then the widener's (from index `first`). */
function tileLocals(kind: ValueKind, first: number) {
  const NA = TT / 4;
  return {
    accs: Array.from({ length: NA }, (_, i) => first + i),
    w2: first + NA,
    wa: first + NA + 1,
    wb: first + NA + 2,
    hi: first + NA + 3,
    o: first + NA + 4,
    wl: first + NA + 5,
    locals: [...new Array(NA + 4).fill(V128), I32, ...widenLocals(kind as WeightKind)] as ValType[],
  };
}

type T = ReturnType<typeof tileLocals>;

/** Initialises the tile's constant locals (the widener's; `hi`: the upper 16 bits of every lane). */
function initTile(c: Code, kind: ValueKind, t: T): void {
  emitWidenInit(c, kind as WeightKind, t.wl);
  c.i32x4Const(0xffff0000 | 0).set(t.hi);
}

/**
 * Loads two adjacent kept values (from local vr) and splats them into wa / wb. bf16: one 32-bit splat load
 * holds both; `<< 16` leaves the first one's float32 bits in every lane, `& 0xffff0000` the second's.
 */
function splatPair(c: Code, kind: ValueKind, vr: number, t: T): void {
  if (kind === 'bf16') {
    c.get(vr).v128Load32Splat(0).set(t.w2);
    c.get(t.w2).i32(16).i32x4Shl().set(t.wa);
    c.get(t.w2).get(t.hi).v128And().set(t.wb);
    return;
  }
  if (kind === 'f32') {
    c.get(vr).v128Load32Splat(0).set(t.wa);
    c.get(vr).v128Load32Splat(4).set(t.wb);
    return;
  }
  loadValues(c, kind, vr, t.wl, 0);
  c.set(t.w2);
  c.get(t.w2).get(t.w2).i8x16Shuffle(splatLane(0)).set(t.wa);
  c.get(t.w2).get(t.w2).i8x16Shuffle(splatLane(1)).set(t.wb);
}

/** acc[a] += wa * X[pa + 16a] + wb * X[pb + 16a] for every accumulator (x rows at locals pa, pb). */
function madPair(c: Code, t: T, pa: number, pb: number): void {
  for (let a = 0; a < t.accs.length; a++)
    c.get(t.accs[a]!)
      .get(pa)
      .v128Load(a * 16)
      .get(t.wa)
      .f32x4Mul()
      .get(pb)
      .v128Load(a * 16)
      .get(t.wb)
      .f32x4Mul()
      .f32x4Add()
      .f32x4Add()
      .set(t.accs[a]!);
}

/** Pushes the address of row r of the accumulator tile at ct. */
const tileRow = (c: Code, ct: number, r: number) =>
  c
    .get(ct)
    .get(r)
    .i32(TT * 4)
    .mul()
    .add();

/** Row r's accumulators: zero (mode & FIRST) or loaded from the tile at ct + r*TT*4. */
function startRow(c: Code, t: T, mode: number, ct: number, r: number): void {
  c.get(mode).i32(TILE_FIRST).and().if();
  for (const a of t.accs) c.v128Zero().set(a);
  c.else();
  for (let a = 0; a < t.accs.length; a++)
    tileRow(c, ct, r)
      .v128Load(a * 16)
      .set(t.accs[a]!);
  c.end();
}

/**
 * Row r's sums: with mode & LAST, (+ bias[r] when mode & BIAS) into out + tok*ldo + r*4 for every token;
 * else stored to the tile at ct + r*TT*4.
 */
function finishRow(c: Code, t: T, p: { mode: number; ct: number; r: number; out: number; ldo: number; bias: number }) {
  const { mode, ct, r, out, ldo, bias } = p;
  c.get(mode).i32(TILE_LAST).and().if();
  c.get(mode).i32(TILE_BIAS).and().if();
  c.get(bias).get(r).i32(2).shl().add().v128Load32Splat(0).set(t.wa);
  for (const a of t.accs) c.get(a).get(t.wa).f32x4Add().set(a);
  c.end();
  c.get(out).get(r).i32(2).shl().add().set(t.o);
  for (let tok = 0; tok < TT; tok++) {
    c.get(t.o)
      .get(t.accs[tok >> 2]!)
      .f32x4ExtractLane(tok & 3)
      .f32Store(0);
    if (tok < TT - 1) c.get(t.o).get(ldo).add().set(t.o);
  }
  c.else();
  for (let a = 0; a < t.accs.length; a++)
    tileRow(c, ct, r)
      .get(t.accs[a]!)
      .v128Store(a * 16);
  c.end();
}

/** `i32x4.add`, `i32x4.splat` (not in the emitter). */
const i32x4Add = (c: Code) => c.raw(0xfd, 0xae, 0x01);
const i32x4Splat = (c: Code) => c.raw(0xfd, 0x11);
/** 32-bit lanes a0, b0, a1, b1 / a2, b2, a3, b3 of two vectors. */
const ZIP_LO = [0, 4, 1, 5].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
const ZIP_HI = [2, 6, 3, 7].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/**
 * tile24(ap, vp, mp, slots, rows, ct, ldv, ldm, tbl, mode, out, ldo, bias, op): 2:4 prefill of one k block
 * (`slots` slots of 8 inputs, even) over a [block][TT] x panel at ap, W rows from vp / mp (already offset to
 * the block; row strides ldv / ldm bytes). tbl: per window w of SLOT_SEQ (16 bytes each, at 4 * the metadata
 * byte 4w), the panel byte offsets of its 4 kept values (i32) in an even slot, then (at tbl + TBL_ODD) in an odd one. Per row, a first pass writes at op
 * the panel address of every kept value in the order they are stored (../packed.ts's stored24: float32 s0..s3
 * t0..t3, 16-bit s0 t0 s1 t1 ... per slot pair s, t); the loop then takes two values per step.
 */
export function emitTile24(kind: ValueKind): Fn {
  const [ap, vp, mp, slots, rows, ct, ldv, ldm, tbl, mode, out, ldo, bias, op] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
  ];
  const [r, mEnd, vr, mr, q, pa, pb, qEnd] = [14, 15, 16, 17, 18, 19, 20, 21];
  const [e0, e1, bv, step] = [22, 23, 24, 25];
  const t = tileLocals(kind, 26);
  const c = new Code();
  initTile(c, kind, t);
  i32x4Splat(c.i32(16 * TT * 4)).set(step);
  forRows(c, r, rows, () => {
    c.get(vp).get(r).get(ldv).mul().add().set(vr);
    c.get(mp).get(r).get(ldm).mul().add().tee(mr).get(slots).add().set(mEnd);
    c.get(op).set(q);
    i32x4Splat(c.get(ap)).set(bv);
    c.block();
    c.get(slots).eqz().brIf(0);
    c.loop(); // addresses of one slot pair's 8 values
    i32x4Add(c.get(tbl).get(mr).i32Load8U(0).i32(2).shl().add().v128Load(0).get(bv)).set(e0);
    i32x4Add(c.get(tbl).get(mr).i32Load8U(1).i32(2).shl().add().v128Load(TBL_ODD).get(bv)).set(e1);
    if (kind === 'f32') {
      c.get(q).get(e0).v128Store(0);
      c.get(q).get(e1).v128Store(16);
    } else {
      c.get(q).get(e0).get(e1).i8x16Shuffle(ZIP_LO).v128Store(0);
      c.get(q).get(e0).get(e1).i8x16Shuffle(ZIP_HI).v128Store(16);
    }
    i32x4Add(c.get(bv).get(step)).set(bv);
    c.inc(q, 32);
    c.get(mr).i32(2).add().tee(mr).get(mEnd).ltU().brIf(0);
    c.end();
    c.end();
    c.get(q).set(qEnd);
    c.get(op).set(q);
    startRow(c, t, mode, ct, r);
    c.block();
    c.get(slots).eqz().brIf(0);
    c.loop(); // two kept values per step, until q reaches qEnd
    splatPair(c, kind, vr, t);
    c.get(q).i32Load(0).set(pa);
    c.get(q).i32Load(4).set(pb);
    madPair(c, t, pa, pb);
    c.inc(vr, 2 * wBytes(kind));
    c.get(q).i32(8).add().tee(q).get(qEnd).ltU().brIf(0);
    c.end();
    c.end();
    finishRow(c, t, { mode, ct, r, out, ldo, bias });
  });
  return {
    params: new Array(14).fill(I32),
    locals: [...new Array(8).fill(I32), ...new Array(4).fill(V128), ...t.locals],
    code: c,
  };
}

/**
 * tileSparse(ap, vp, ip, qp, nb, rows, rowPtr, mode, out, ldo, bias, tbl, nw): unstructured prefill over a whole
 * [kp][TT] x panel (mode has LAST set; FIRST is implied). rowPtr: i32 first pair per block and row ([nb][nw],
 * relative to vp / ip); qp: [nb][nw] 4-pair group counts; tbl: per window w of PAIR_SEQ (8 bytes each, at 2 * the metadata word's
 * offset within its slot, 4w), the panel byte offsets of its 2 positions (i32). One pair per step.
 */
export function emitTileSparse(kind: ValueKind): Fn {
  const [ap, vp, ip, qp, nb, rows, rowPtr, mode, out, ldo, bias, tbl, nw] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const [r, b, q, ab, vr, ir, rb, e, pa, pb, m, sb, te, qb] = [13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
  const t = tileLocals(kind, 27);
  const L = { rowPtr, r, e, vp, vr, ip, ir, qp, nw, nb, b, q, rb, qb };
  const c = new Code();
  initTile(c, kind, t);
  forRows(c, r, rows, () => {
    for (const a of t.accs) c.v128Zero().set(a);
    c.get(ap).set(ab);
    sparseRow(
      c,
      kind,
      L,
      ab,
      SPARSE_BLOCK * TT * 4,
      () => {
        splatPair(c, kind, vr, t);
        i32Load16U(c.get(ir), 0).set(m);
        // the pair slot's panel rows, and the window's two offsets in them
        c.get(ab)
          .get(m)
          .i32(Math.log2(PAIR_SLOT_BYTES))
          .shrU()
          .i32(Math.log2(PAIR_SLOT * TT * 4))
          .shl()
          .add()
          .set(sb);
        c.get(tbl)
          .get(m)
          .i32(PAIR_SLOT_BYTES - 1)
          .and()
          .i32(1)
          .shl()
          .add()
          .set(te);
        c.get(sb).get(te).i32Load(0).add().set(pa);
        c.get(sb).get(te).i32Load(4).add().set(pb);
        madPair(c, t, pa, pb);
      },
      1,
    );
    finishRow(c, t, { mode, ct: 0, r, out, ldo, bias });
  });
  return { params: new Array(13).fill(I32), locals: [...new Array(14).fill(I32), ...t.locals], code: c };
}
