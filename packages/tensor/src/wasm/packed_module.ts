/**
 * The packed-sparse module (formats in ../packed.ts): decode dot products (here) and prefill tiles
 * (packed_tiles.ts) for 2:4 and unstructured weights, with kept values stored as float32, bfloat16 or float16
 * (widened in the loop).
 *
 * Decode avoids any per-input work: a 2:4 row reads, per group of 4 inputs, one metadata byte and gathers its
 * two x values with one 64-bit load from `x6`, a per-call table holding for every group all 6 position pairs
 * of x; an unstructured row gathers x with 32-bit lane loads at its position bytes.
 */
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
} from './packed_emit.js';
import { emitTile24, emitTileSparse } from './packed_tiles.js';

export { KINDS, type ValueKind } from './packed_emit.js';

/** Bytes of one group's x pairs in `x6` (6 pairs of 2 floats). */
export const X6_GROUP = 48;

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

const suffix = (k: ValueKind) => (k === 'f32' ? 'F32' : k === 'bf16' ? 'Bf16' : 'F16');

/** Adds the packed kernels to `m`: for each value kind (F32, Bf16, F16), `dots24*`, `dotsSparse*`, `tile24*`, `tileSparse*`. */
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
  return m;
}

/** The module's bytes: its own memory (exported as `memory`) and the packed kernels. */
export function buildPackedModule(memoryPages: number): Uint8Array {
  return addPackedKernels(new ModuleBuilder().addMemory(memoryPages)).build();
}
