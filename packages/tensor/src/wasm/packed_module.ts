/**
 * The packed-sparse module (formats in ../packed.ts): decode dot products (here) and prefill tiles
 * (packed_tiles.ts) for 2:4 and unstructured weights, with kept values stored as float32, bfloat16 or float16
 * (widened in the loop).
 *
 * Decode avoids any per-input work: a 2:4 row reads, per group of 4 inputs, one metadata byte and gathers its
 * two x values with one 64-bit load from `x6`, a per-call table holding for every group all 6 position pairs
 * of x; an unstructured row gathers x with 32-bit lane loads at its position bytes.
 */

import { PAIRS_2_4 } from '../packed.js';
import { Code, I32, ModuleBuilder, V128 } from './emitter.js';
import { emitWidenInit, type WeightKind, widenLocals } from './half_emit.js';
import {
  countdown,
  type Fn,
  forRows,
  KINDS,
  loadValues,
  sparseRow,
  storeSum,
  type ValueKind,
  wBytes,
  X36_SLOT,
} from './packed_emit.js';
import { emitTile24, emitTileSparse, TILE_FIRST, TILE_LAST } from './packed_tiles.js';

export { KINDS, type ValueKind, X36_SLOT } from './packed_emit.js';

/** Slots per unrolled step of dots24. */
const U = 8;

/** 32-bit lane shuffle: lanes 0, 1 from lanes a0, a1 of the first operand, lanes 2, 3 from b0, b1 of the second. */
const gatherLanes = (a0: number, a1: number, b0: number, b1: number) =>
  [a0, a1, 4 + b0, 4 + b1].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/**
 * x36(xp, tp, slots): the decode's x table. For every slot of 8 inputs at xp (float32), at tp + slot * 576
 * and every code c = 6 * a + b of the slot's metadata byte (a, b: the pair codes of its two groups), the 4 x
 * values that the slot's 4 kept weights multiply: x[P0[a]], x[P1[a]], x[4 + P0[b]], x[4 + P1[b]].
 */
export function emitX36(): Fn {
  const [xp, tp, slots] = [0, 1, 2];
  const [lo, hi] = [3, 4];
  const c = new Code();
  countdown(c, slots, () => {
    c.get(xp).v128Load(0).set(lo);
    c.get(xp).v128Load(16).set(hi);
    for (let a = 0; a < 6; a++)
      for (let b = 0; b < 6; b++) {
        const [pa, pb] = [PAIRS_2_4[a]!, PAIRS_2_4[b]!];
        c.get(tp)
          .get(lo)
          .get(hi)
          .i8x16Shuffle(gatherLanes(pa[0], pa[1], pb[0], pb[1]))
          .v128Store((6 * a + b) * 16);
      }
    c.inc(xp, 32).inc(tp, X36_SLOT);
  });
  return { params: [I32, I32, I32], locals: [V128, V128], code: c };
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
 * dots24(x36, vp, mp, slots, rows, out, ldv, ldm): 2:4 rows over the x table from `x36` (slots = inputs / 8,
 * even; ldv, ldm in bytes). Per slot: one metadata byte picks the slot's 4 gathered x values (one 16-byte
 * load), times its 4 kept values (16-bit: one 16-byte load holds a slot pair's 8). Slot s goes into
 * accumulator s mod 4; then ((a0 + a1) + (a2 + a3)) and lanes (l0 + l1) + (l2 + l3): a fixed order.
 */
export function emitDots24(kind: ValueKind): Fn {
  const [x36, vp, mp, slots, rows, part, ldv, ldm, mode, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r, it, xr, vr, mr] = [10, 11, 12, 13, 14];
  const accs = [15, 16, 17, 18];
  const [wv, hiMask] = [19, 20];
  const wl = 21;
  const c = new Code();
  // n slots (even) from the pointers, slot u into accumulator u mod 4
  const step = (n: number) => {
    for (let u = 0; u < n; u++) {
      if (kind !== 'f32' && u % 2 === 0)
        c.get(vr)
          .v128Load(8 * u)
          .set(wv);
      c.get(accs[u % 4]!);
      c.get(xr)
        .get(mr)
        .i32Load8U(u)
        .i32(4)
        .shl()
        .add()
        .v128Load(u * X36_SLOT);
      if (kind === 'f32') loadValues(c, kind, vr, wl, 4 * u);
      else widenSlot(c, kind, wv, hiMask, wl, u % 2 === 1);
      c.f32x4Mul()
        .f32x4Add()
        .set(accs[u % 4]!);
    }
    c.inc(xr, n * X36_SLOT)
      .inc(mr, n)
      .inc(vr, 4 * n * wBytes(kind));
  };
  emitWidenInit(c, kind as WeightKind, wl);
  c.i32x4Const(0xffff0000 | 0).set(hiMask);
  forRows(c, r, rows, () => {
    c.get(x36).set(xr);
    c.get(vp).get(r).get(ldv).mul().add().set(vr);
    c.get(mp).get(r).get(ldm).mul().add().set(mr);
    for (const a of accs) c.v128Zero().set(a);
    c.get(mode).i32(TILE_FIRST).and().eqz().if();
    c.get(part).get(r).i32(4).shl().add().v128Load(0).set(accs[0]!);
    c.end();
    c.get(slots).i32(Math.log2(U)).shrU().set(it);
    countdown(c, it, () => step(U));
    // slots is even: the remaining 0 .. U - 2
    for (let n = U / 2; n >= 2; n /= 2) {
      c.get(slots).i32(n).and().if();
      step(n);
      c.end();
    }
    c.get(accs[0]!).get(accs[1]!).f32x4Add().get(accs[2]!).get(accs[3]!).f32x4Add().f32x4Add().set(accs[0]!);
    c.get(mode).i32(TILE_LAST).and().if();
    storeSum(c, accs[0]!, out, r);
    c.else();
    c.get(part).get(r).i32(4).shl().add().get(accs[0]!).v128Store(0);
    c.end();
  });
  return {
    params: new Array(10).fill(I32),
    locals: [...new Array(5).fill(I32), ...new Array(6).fill(V128), ...widenLocals(kind as WeightKind)],
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
