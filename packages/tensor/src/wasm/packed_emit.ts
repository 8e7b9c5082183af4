/**
 * Emission helpers shared by the packed-sparse decode kernels (packed_module.ts) and prefill tiles
 * (packed_tiles.ts): value loads (widened from 16 bits), row and countdown loops, the unstructured row walk.
 */
import { SLOT_SEQ } from '../packed.js';
import { type Code, uleb, type ValType } from './emitter.js';
import { emitWidenLoad, type WeightKind } from './half_emit.js';

export const KINDS = ['f32', 'bf16', 'f16'] as const;
export type ValueKind = (typeof KINDS)[number];

export interface Fn {
  params: ValType[];
  locals: ValType[];
  code: Code;
}

/** Bytes of one 8-input slot's entry in the 2:4 decode's x table (x in ../packed.ts's SLOT_SEQ order). */
export const X36_SLOT = Math.ceil(SLOT_SEQ.length / 4) * 16;

export const wBytes = (k: ValueKind) => (k === 'f32' ? 4 : 2);

/** Pushes 4 kept values at local `vr` (+ offset values) as an f32x4. */
export function loadValues(c: Code, kind: ValueKind, vr: number, wl: number, offsetValues: number): void {
  c.get(vr);
  if (kind === 'f32') c.v128Load(offsetValues * 4);
  else emitWidenLoad(c, kind as WeightKind, wl, offsetValues * 2);
}

/** Stores the horizontal sum of `acc` as float32 at out + r*4. */
export function storeSum(c: Code, acc: number, out: number, r: number): void {
  c.get(out).get(r).i32(2).shl().add();
  c.get(acc).f32x4ExtractLane(0).get(acc).f32x4ExtractLane(1).f32Add();
  c.get(acc).f32x4ExtractLane(2).get(acc).f32x4ExtractLane(3).f32Add();
  c.f32Add().f32Store(0);
}

/** Emits `for (r = 0; r < rows; r++) body()`. */
export function forRows(c: Code, r: number, rows: number, body: () => void): void {
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
export function countdown(c: Code, cnt: number, body: () => void): void {
  c.block();
  c.get(cnt).eqz().brIf(0);
  c.loop();
  body();
  c.get(cnt).i32(1).sub().tee(cnt).brIf(0);
  c.end();
  c.end();
}

/** `i32.load16_u` at the address on the stack + offset. */
export function i32Load16U(c: Code, offset: number): Code {
  const b = [0x2f, 1];
  uleb(b, offset);
  return c.raw(...b);
}

export interface SparseLocals {
  /** i32 first pair of row 0 in block 0 ([blocks][nw]; relative to vp / ip). */
  rowPtr: number;
  r: number;
  e: number;
  vp: number;
  vr: number;
  ip: number;
  ir: number;
  /** 4-pair group count of row 0 in block 0 ([blocks][nw]). */
  qp: number;
  /** Rows of the layout (the stride of rowPtr and qp between blocks). */
  nw: number;
  nb: number;
  b: number;
  q: number;
  /** Running pointers into rowPtr and qp. */
  rb: number;
  qb: number;
}

/**
 * Emits the walk over one unstructured row (../packed.ts; blocks one after the other): per block its first pair
 * from rowPtr, then its 4-pair groups, `perStep` pairs (4 or 1) per `step()` call, advancing local `base` by
 * `blockBytes` per block.
 */
export function sparseRow(
  c: Code,
  kind: ValueKind,
  L: SparseLocals,
  base: number,
  blockBytes: number,
  step: () => void,
  perStep: 1 | 4 = 4,
): void {
  c.get(L.rowPtr).get(L.r).i32(2).shl().add().set(L.rb);
  c.get(L.qp).get(L.r).add().set(L.qb);
  c.i32(0).set(L.b);
  c.block();
  c.get(L.nb).eqz().brIf(0);
  c.loop(); // blocks
  c.get(L.rb).i32Load(0).set(L.e);
  c.get(L.vp)
    .get(L.e)
    .i32(wBytes(kind) === 4 ? 3 : 2)
    .shl()
    .add()
    .set(L.vr);
  c.get(L.ip).get(L.e).i32(1).shl().add().set(L.ir);
  c.get(L.qb).i32Load8U(0).set(L.q);
  if (perStep === 1) c.get(L.q).i32(2).shl().set(L.q);
  countdown(c, L.q, () => {
    step();
    c.inc(L.ir, 2 * perStep).inc(L.vr, 2 * perStep * wBytes(kind));
  });
  c.inc(base, blockBytes);
  c.get(L.rb).get(L.nw).i32(2).shl().add().set(L.rb);
  c.incBy(L.qb, L.nw);
  c.get(L.b).i32(1).add().tee(L.b).get(L.nb).ltU().brIf(0);
  c.end();
  c.end();
}
