/**
 * The packed-sparse module (formats in ../packed.ts): decode dot products (here) and prefill tiles
 * (packed_tiles.ts) for 2:4 and unstructured weights, with kept values stored as float32, bfloat16 or float16
 * (widened in the loop).
 *
 * Decode avoids any per-input work: a 2:4 row reads, per slot of 8 inputs, one metadata byte and gathers its
 * four x values with one 16-byte load from `x36`, a per-call table holding every slot's x in the order that
 * makes each slot's kept positions 4 consecutive floats; an unstructured row gathers each pair of kept values' x
 * with one 64-bit load from a per-call table of x in an order where every pair of a slot's positions is adjacent.
 */

import { BLOCK_2_4, PAIR_SEQ, PAIR_SLOT, PAIR_SLOT_BYTES, SLOT_SEQ } from '../packed.js';
import { Code, I32, ModuleBuilder, V128 } from './emitter.js';
import { emitWidenInit, type WeightKind, widenLocals } from './half_emit.js';
import {
  countdown,
  type Fn,
  forRows,
  i32Load16U,
  KINDS,
  loadValues,
  storeSum,
  type ValueKind,
  wBytes,
  X36_SLOT,
} from './packed_emit.js';
import { emitTile24, emitTileSparse, TILE_FIRST, TILE_LAST } from './packed_tiles.js';

export { KINDS, type ValueKind, X36_SLOT } from './packed_emit.js';

/** Slots in a full k block (../packed.ts's BLOCK_2_4 / 8): dots24 unrolls them. */
const BLOCK_SLOTS = BLOCK_2_4 / 8;
/** Slots summed as a tree before one accumulator add (see emitDots24). */
const GROUP = 4;

/** Byte indices of a shuffle whose 32-bit lane l takes lane p[l] of the pair (first, second operand). */
const laneShuffle = (p: readonly number[]) => p.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/**
 * x36(xp, tp, slots, mode): the decode's x tables. mode 0 (2:4): for every slot of 8 inputs at xp (float32), at
 * tp + slot * X36_SLOT the slot's x in ../packed.ts's SLOT_SEQ order (padded with x[0]): a slot whose metadata
 * byte is 4w finds its 4 x values at byte 4w. mode 1 (unstructured): for every pair slot of PAIR_SLOT inputs, at
 * tp + slot * PAIR_SLOT_BYTES the slot's x in PAIR_SEQ order: a pair finds its 2 x values at its metadata word
 * (each 4 entries by one shuffle of the slot's x vectors they come from, two for 3 vectors; was 128 scalar copies).
 */
export function emitX36(): Fn {
  const [xp, tp, slots, mode] = [0, 1, 2, 3];
  const [lo, hi] = [4, 5];
  const c = new Code();
  const seq = [...SLOT_SEQ, ...new Array(X36_SLOT / 4 - SLOT_SEQ.length).fill(0)];
  c.get(mode).eqz().if();
  countdown(c, slots, () => {
    c.get(xp).v128Load(0).set(lo);
    c.get(xp).v128Load(16).set(hi);
    for (let i = 0; i < seq.length; i += 4)
      c.get(tp)
        .get(lo)
        .get(hi)
        .i8x16Shuffle(laneShuffle(seq.slice(i, i + 4)))
        .v128Store(4 * i);
    c.inc(xp, 32).inc(tp, X36_SLOT);
  });
  c.else();
  const src = [4, 5, 6, 7]; // x of the slot, 4 inputs each
  const tmp = 8;
  countdown(c, slots, () => {
    for (let v = 0; v < 4; v++)
      c.get(xp)
        .v128Load(16 * v)
        .set(src[v]!);
    // each 4 entries of PAIR_SEQ by one shuffle of the (at most 2) x vectors they come from, or two for 3
    for (let i = 0; i < PAIR_SEQ.length; i += 4) {
      const pos = PAIR_SEQ.slice(i, i + 4);
      const from = [...new Set(pos.map((p) => p >> 2))];
      if (from.length > 3) throw new Error('emitX36: PAIR_SEQ entries from 4 x vectors (not handled)');
      const [a, b] = [from[0]!, from[1] ?? from[0]!];
      const lane = (p: number) => (p >> 2 === a ? 0 : 4) + (p & 3);
      c.get(tp);
      if (from.length <= 2)
        c.get(src[a]!)
          .get(src[b]!)
          .i8x16Shuffle(laneShuffle(pos.map(lane)));
      else {
        const third = (p: number) => p >> 2 === from[2];
        c.get(src[a]!)
          .get(src[b]!)
          .i8x16Shuffle(laneShuffle(pos.map((p) => (third(p) ? 0 : lane(p)))))
          .set(tmp);
        c.get(tmp)
          .get(src[from[2]!]!)
          .i8x16Shuffle(laneShuffle(pos.map((p, l) => (third(p) ? 4 + (p & 3) : l))));
      }
      c.v128Store(i * 4);
    }
    c.inc(xp, 4 * PAIR_SLOT).inc(tp, PAIR_SLOT_BYTES);
  });
  c.end();
  return { params: [I32, I32, I32, I32], locals: new Array(5).fill(V128), code: c };
}

/** `i32x4.shr_s` by the i32 on top of the stack. */
const i32x4ShrS = (c: Code) => c.raw(0xfd, 0xac, 0x01);

/**
 * Pushes the float32 values of one slot from local `wv`, 16 bytes of 16-bit values of a slot pair stored
 * interleaved (../packed.ts): `odd` false: the even slot's (low halves, `<< 16`), true: the odd slot's (high
 * halves, `& 0xffff0000`). bf16 is then done; f16 is shifted down to the sign-extended `h << 13` and widened as
 * in half_emit.ts (keep sign, exponent and mantissa; times 2^112; Inf/NaN fix-up).
 */
function widenSlot(c: Code, kind: 'bf16' | 'f16', wv: number, hiMask: number, wl: number, odd: boolean): void {
  if (odd) c.get(wv).get(hiMask).v128And();
  else c.get(wv).i32(16).i32x4Shl();
  if (kind === 'bf16') return;
  const [keep, k112, absMask, big, inf, r] = [wl, wl + 1, wl + 2, wl + 3, wl + 4, wl + 5];
  i32x4ShrS(c.i32(3));
  c.get(keep).v128And().get(k112).f32x4Mul();
  c.tee(r).get(absMask).v128And().get(big).f32x4Ge().get(inf).v128And().get(r).v128Or();
}

/**
 * dots24(xt, vp, mp, slots, rows, part, ldv, ldm, mode, out): 2:4 rows of one k block over its x table at `xt`
 * (slots = block inputs / 8, even; ldv, ldm: row strides in bytes). Per slot: its metadata byte is the byte
 * offset of its 4 x values in the slot's table entry (one 16-byte load), times its 4 kept values (16-bit: one
 * 16-byte load holds a slot pair's 8). A full block (32 slots) is unrolled: per group of 4 slots the products
 * are summed as ((p0 + p1) + (p2 + p3)) and added to the row's accumulator, which is stored to the row's partial
 * sum after every group (the store keeps V8 from hoisting all 32 slots' loads and spilling them: +35% measured);
 * a partial block does the same per 2 slots. The accumulator starts at 0 (mode & FIRST) or the row's partial sum
 * (part + 16r), and ends there or, with mode & LAST, as the lane sum (l0 + l1) + (l2 + l3) at out + 4r.
 */
export function emitDots24(kind: ValueKind): Fn {
  const [xt, vp, mp, slots, rows, part, ldv, ldm, mode, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r, it, xr, vr, mr, pr] = [10, 11, 12, 13, 14, 15];
  const [acc, wv, hiMask, keep] = [16, 17, 18, 19];
  const wl = 20;
  const c = new Code();
  // pushes the product of slot u (x table at local tb + u * X36_SLOT; pointers vr, mr)
  const product = (u: number, tb: number) => {
    if (kind !== 'f32' && u % 2 === 0)
      c.get(vr)
        .v128Load(8 * u)
        .set(wv);
    c.get(mr)
      .i32Load8U(u)
      .get(tb)
      .add()
      .v128Load(u * X36_SLOT);
    if (kind === 'f32') loadValues(c, kind, vr, wl, 4 * u);
    else widenSlot(c, kind, wv, hiMask, wl, u % 2 === 1);
    c.f32x4Mul();
  };
  // acc += the pairwise sum of slots u0 .. u0 + n - 1 (n = 2 or 4), then acc stored at pr
  const group = (u0: number, n: number, tb: number) => {
    c.get(acc);
    product(u0, tb);
    product(u0 + 1, tb);
    c.f32x4Add();
    if (n === 4) {
      product(u0 + 2, tb);
      product(u0 + 3, tb);
      c.f32x4Add().f32x4Add();
    }
    c.f32x4Add().set(acc);
    c.get(pr).get(acc).v128Store(0);
  };
  emitWidenInit(c, kind as WeightKind, wl);
  c.i32x4Const(0xffff0000 | 0).set(hiMask);
  // keep: all ones unless mode & FIRST (then the partial sums read as zero)
  c.v128Zero().set(keep);
  c.get(mode).i32(TILE_FIRST).and().eqz().if();
  c.i32x4Const(-1).set(keep);
  c.end();
  c.get(part).set(pr);
  forRows(c, r, rows, () => {
    c.get(vp).set(vr);
    c.get(mp).set(mr);
    c.get(pr).v128Load(0).get(keep).v128And().set(acc);
    c.get(slots).i32(BLOCK_SLOTS).sub().eqz().if();
    for (let u = 0; u < BLOCK_SLOTS; u += GROUP) group(u, GROUP, xt);
    c.else();
    c.get(xt).set(xr);
    c.get(slots).i32(1).shrU().set(it);
    countdown(c, it, () => {
      group(0, 2, xr);
      c.inc(xr, 2 * X36_SLOT)
        .inc(mr, 2)
        .inc(vr, 8 * wBytes(kind));
    });
    c.end();
    c.get(mode).i32(TILE_LAST).and().if();
    storeSum(c, acc, out, r);
    c.end();
    c.inc(pr, 16).incBy(vp, ldv).incBy(mp, ldm);
  });
  return {
    params: new Array(10).fill(I32),
    locals: [...new Array(6).fill(I32), ...new Array(4).fill(V128), ...widenLocals(kind as WeightKind)],
    code: c,
  };
}

/**
 * dotsSparse(xt, vp, ip, qp, rows, out, rowPtr, part, mode): unstructured rows (../packed.ts) of one k block,
 * whose pair table (x36 mode 1) is at xt: a pass over a block streams its pairs and keeps its table in L1. qp:
 * the rows' 4-pair group counts in the block; rowPtr: their i32 first pairs (relative to vp / ip); part: 16 bytes
 * per row, the accumulator carried between blocks (zero with mode & FIRST). Per group: each pair's metadata word gathers its 2 x values with one 64-bit load, and
 * ((x01 * w0123) + (x23 * w4567)) is added to the accumulator, which is stored after every group (the store keeps
 * V8 from hoisting loads, as in dots24); with mode & LAST the lane sum goes to out + 4r.
 */
export function emitDotsSparse(kind: ValueKind): Fn {
  const [xt, vp, ip, qp, rows, out, rowPtr, part, mode] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [r, q, vr, ir, e, pr] = [9, 10, 11, 12, 13, 14];
  const [acc, x0, keep] = [15, 16, 17];
  const wl = 18;
  const c = new Code();
  // pushes the x values of pairs i, i + 1 of the group at ir
  const pairX = (i: number) => {
    i32Load16U(c.get(ir), 2 * i)
      .get(xt)
      .add()
      .v128Load64Zero(0)
      .set(x0);
    i32Load16U(c.get(ir), 2 * i + 2)
      .get(xt)
      .add()
      .get(x0)
      .v128Load64Lane(0, 1);
  };
  emitWidenInit(c, kind as WeightKind, wl);
  c.v128Zero().set(keep);
  c.get(mode).i32(TILE_FIRST).and().eqz().if();
  c.i32x4Const(-1).set(keep);
  c.end();
  c.get(part).set(pr);
  forRows(c, r, rows, () => {
    c.get(rowPtr).get(r).i32(2).shl().add().i32Load(0).set(e);
    c.get(pr).v128Load(0).get(keep).v128And().set(acc);
    c.get(vp)
      .get(e)
      .i32(wBytes(kind) === 4 ? 3 : 2)
      .shl()
      .add()
      .set(vr);
    c.get(ip).get(e).i32(1).shl().add().set(ir);
    c.get(qp).get(r).add().i32Load8U(0).set(q);
    countdown(c, q, () => {
      c.get(acc);
      pairX(0);
      loadValues(c, kind, vr, wl, 0);
      c.f32x4Mul();
      pairX(2);
      loadValues(c, kind, vr, wl, 4);
      c.f32x4Mul();
      c.f32x4Add().f32x4Add().set(acc);
      c.get(pr).get(acc).v128Store(0);
      c.inc(ir, 8).inc(vr, 8 * wBytes(kind));
    });
    c.get(pr).get(acc).v128Store(0);
    c.get(mode).i32(TILE_LAST).and().if();
    storeSum(c, acc, out, r);
    c.end();
    c.inc(pr, 16);
  });
  return {
    params: new Array(9).fill(I32),
    locals: [...new Array(6).fill(I32), V128, V128, V128, ...widenLocals(kind as WeightKind)],
    code: c,
  };
}

const suffix = (k: ValueKind) => (k === 'f32' ? 'F32' : k === 'bf16' ? 'Bf16' : 'F16');

/** Adds the packed kernels to `m`: for each value kind (F32, Bf16, F16), `dots24*`, `dotsSparse*`, `tile24*`, `tileSparse*`;
 * and `x36`. */
export function addPackedKernels(m: ModuleBuilder): ModuleBuilder {
  for (const kind of KINDS) {
    for (const [name, f] of [
      ['dots24', emitDots24(kind)],
      ['dotsSparse', emitDotsSparse(kind)],
      ['tile24', emitTile24(kind)],
      ['tileSparse', emitTileSparse(kind)],
    ] as const)
      m.addFunction(name + suffix(kind), f.params, [], f.locals, f.code);
  }
  const x = emitX36();
  m.addFunction('x36', x.params, [], x.locals, x.code);
  return m;
}

/** The module's bytes: its own memory (exported as `memory`) and the packed kernels. */
export function buildPackedModule(memoryPages: number): Uint8Array {
  return addPackedKernels(new ModuleBuilder().addMemory(memoryPages)).build();
}
