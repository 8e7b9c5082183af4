/**
 * Float32 row kernel of the masked column sweep with lazy batch updates (SparseGPT's inner loop, SPEC 7), on
 * the linalg WebAssembly module (../wasm/linalg_module.ts). Rows are independent: each row of W is copied into
 * the module in groups of SUB rows, swept through the block's columns, its trailing columns updated with one
 * rank-`count` product, and copied back. Every value is computed the same way whatever the row split, so
 * results are bit-identical for any thread count.
 */
import { linalgWasm } from '../wasm/linalg_runtime.js';

export type SweepArgs = {
  readonly w: Float32Array; // [rows, cols] updated in place
  readonly cols: number;
  readonly i1: number; // first column of the block
  readonly count: number; // columns in the block
  readonly ub: Float32Array; // [countP, countP] the block of U, strictly upper, zero elsewhere (countP = count rounded up to 4)
  readonly d: Float32Array; // [count] diagonal of the block of U
  readonly bp: Float32Array; // U[i1:i2, i2:cols] as 8-column panels [trailP / 8][count][8], zero-padded
  readonly mask: Uint8Array; // [rows, cols] out: 1 where pruned (columns of the block are written)
  readonly thresh: number; // unstructured rule: prune where w^2 / d^2 <= thresh (float64 arithmetic)
  readonly nmN: number; // N:M rule when nmM > 0: at every M-th column, the N lowest w^2 / d^2 of the row's group
  readonly nmM: number;
  readonly update: number; // 1: OBS update (sweep + trailing product); 0: only zero the pruned weights
};

/** Rows per group copied into the module (a multiple of 4, the gemm's row panel). */
const SUB = 64;

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** Byte layout of the module memory for one call; shared with the checks in ops/linalg_f32.ts. */
export function sweepLayout(count: number, trail: number) {
  const countP = roundUp(count, 4);
  const trailP = roundUp(trail, 8);
  const ld = countP + trailP; // floats per row
  const UB = 0;
  const D = UB + countP * countP * 4;
  const BP = D + countP * 4;
  const W = BP + trailP * count * 4;
  const E = W + SUB * ld * 4;
  const M = E + (SUB / 4) * count * 16;
  return { countP, trailP, ld, UB, D, BP, W, E, M, bytes: M + SUB * countP };
}

/** Marks, for rows [0, h) of the module block, the N lowest w^2 / d^2 of columns [g, g + M) (ties to the lower). */
function selectNM(
  mem: Float32Array,
  u8: Uint8Array,
  a: SweepArgs,
  lay: ReturnType<typeof sweepLayout>,
  h: number,
  g: number,
): void {
  const m = Math.min(a.nmM, a.count - g);
  const grp = new Float64Array(m);
  for (let r = 0; r < h; r++) {
    const o = lay.W / 4 + r * lay.ld + g;
    const mo = lay.M + r * lay.countP + g;
    for (let k = 0; k < m; k++) {
      const x = mem[o + k]!;
      const dd = a.d[g + k]!;
      grp[k] = (x * x) / (dd * dd);
    }
    for (let t = 0; t < a.nmN; t++) {
      let best = -1;
      for (let k = 0; k < m; k++) if (!u8[mo + k] && (best < 0 || grp[k]! < grp[best]!)) best = k;
      if (best >= 0) u8[mo + best] = 1;
    }
  }
}

/** Rows [rowStart, rowEnd) of the block sweep described by `SweepArgs`. */
export function sweepRows(a: SweepArgs, rowStart: number, rowEnd: number): void {
  const { w, cols, i1, count } = a;
  const i2 = i1 + count;
  const trail = cols - i2;
  const lay = sweepLayout(count, trail);
  const { countP, trailP, ld } = lay;
  const L = linalgWasm();
  L.ensure(lay.bytes);
  let mem = L.f32();
  let u8 = L.u8();
  mem.set(a.ub.subarray(0, countP * countP), lay.UB / 4);
  mem.set(a.d.subarray(0, count), lay.D / 4);
  const doTrail = a.update === 1 && trail > 0;
  if (doTrail) mem.set(a.bp.subarray(0, trailP * count), lay.BP / 4);
  for (let s = rowStart; s < rowEnd; s += SUB) {
    const h = Math.min(SUB, rowEnd - s);
    const hP = roundUp(h, 4);
    mem = L.f32();
    u8 = L.u8();
    for (let r = 0; r < hP; r++) {
      const d0 = lay.W / 4 + r * ld;
      if (r >= h) {
        mem.fill(0, d0, d0 + ld);
        continue;
      }
      const row = (s + r) * cols;
      mem.set(w.subarray(row + i1, row + i2), d0);
      mem.fill(0, d0 + count, d0 + countP);
      if (doTrail) {
        mem.set(w.subarray(row + i2, row + cols), d0 + countP);
        mem.fill(0, d0 + countP + trail, d0 + ld);
      }
    }
    u8.fill(0, lay.M, lay.M + SUB * countP);
    if (a.nmM === 0) {
      for (let r = 0; r < h; r++) {
        const o = lay.W / 4 + r * ld;
        const mo = lay.M + r * countP;
        for (let c = 0; c < count; c++) {
          const x = mem[o + c]!;
          const dd = a.d[c]!;
          if ((x * x) / (dd * dd) <= a.thresh) u8[mo + c] = 1;
        }
      }
    }
    if (a.update === 1) {
      mem.fill(0, lay.E / 4, lay.E / 4 + (hP / 4) * count * 4);
      const step = a.nmM > 0 ? a.nmM : count;
      for (let g = 0; g < count; g += step) {
        if (a.nmM > 0) selectNM(mem, u8, a, lay, h, g);
        L.sweep(
          lay.W,
          ld * 4,
          lay.UB,
          countP * 4,
          lay.D,
          lay.E,
          count * 16,
          lay.M,
          countP,
          h,
          g,
          Math.min(g + step, count),
          countP,
        );
      }
      if (doTrail)
        L.gemm(lay.E, count * 16, lay.BP, count * 32, lay.W + countP * 4, ld * 4, hP / 4, trailP / 8, count, 1);
    } else {
      if (a.nmM > 0) for (let g = 0; g < count; g += a.nmM) selectNM(mem, u8, a, lay, h, g);
      for (let r = 0; r < h; r++)
        for (let c = 0; c < count; c++) if (u8[lay.M + r * countP + c]) mem[lay.W / 4 + r * ld + c] = 0;
    }
    for (let r = 0; r < h; r++) {
      const row = (s + r) * cols;
      const d0 = lay.W / 4 + r * ld;
      w.set(mem.subarray(d0, d0 + count), row + i1);
      if (doTrail) w.set(mem.subarray(d0 + countP, d0 + countP + trail), row + i2);
      a.mask.set(u8.subarray(lay.M + r * countP, lay.M + r * countP + count), row + i1);
    }
  }
}
