/** The decode (matrix-vector) kernels' dot products over float32 or 16-bit W rows. */
import { Code, I32, V128, type ValType } from './emitter.js';
import { emitWidenInit, emitWidenLoad, type WeightKind, widenLocals } from './half_emit.js';
import type { MatmulModuleOptions } from './matmul_module.js';

/** 16-bit lanes 0-3 / 4-7 of the second operand, each above a zero 16-bit lane of the first: `bits << 16`. */
const UNPACK_LO = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
const UNPACK_HI = [8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31];
/** f32 lanes 0-1 of both operands / lanes 2-3 of both operands. */
const HALVES_LO = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const HALVES_HI = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];

/**
 * bf16 weights split into even and odd lanes instead of interleaved with zeros: from one 16-byte load of 8
 * weights, `<< 16` gives weights 0, 2, 4, 6 and `& 0xffff0000` weights 1, 3, 5, 7, so x must come permuted
 * the same way (`bf16XOrder`). Each accumulator lane still sums the same k = 16t + j in the same order, and the
 * final reduction pairs the lanes as the plain kernel does: bit-identical results. Measured on one thread (Zen 3,
 * Node 20, W in L2): 17.2 G weights/s against 16.6 for the zero-interleaving kernel (`bf16Zip`) and 13.2 for f32.
 */
/** Index in a 16-block of the x element that the split bf16 kernel expects at position p. */
export function bf16XOrder(p: number): number {
  const q = p & 15;
  const half = q >> 3; // 0: weights 0-7, 1: weights 8-15
  const r = q & 7; // lanes 0-3: even weights, 4-7: odd weights
  return p - q + half * 8 + (r < 4 ? 2 * r : 2 * (r - 4) + 1);
}

/** `mode` bits of the k-blocked dots: the first k block (accumulators start at 0), the last (sums to out). */
export const DOTS_FIRST = 1;
export const DOTS_LAST = 2;

/**
 * dots(xp, wp, kp, rows, ldw, out): out[r] = sum_k x[k] * w[r*ldw + k] for r < rows, with kp a multiple of
 * 16 (callers zero-pad) and `ldw` in bytes. Per row four f32x4 accumulators over k in order, one row at a time,
 * then a fixed pairwise reduction: ((acc0 + acc1) + (acc2 + acc3)), lanes (l0 + l1) + (l2 + l3).
 *
 * Why one row at a time, W read once in order (measured with tools/bench_dots_ab.mjs, bf16, one thread, 2026-12-01,
 * AMD EPYC VM): from DRAM this machine streams W well only as ONE sequential stream per thread. Two rows sharing
 * the x loads (`dotsRows: 2`; the mid-loop exit below keeps V8 from spilling their 8 accumulators) run 1.14x
 * faster with W in L2 but 0.38-0.44x from DRAM (two W streams); blocking the dot over k (each block over a chunk
 * of rows, accumulators kept in scratch between blocks: same bits) ran 0.63-0.67x at k = 5632 for any chunk of
 * 2-256 rows (W read in 5.6 KB pieces). Long rows are slow for another reason: x (4 bytes a weight) plus the W row
 * must stay in L1 (~32 KB here), and at k = 5632 (x 22 KB) x is evicted every row: 7.8 against 14.4 G weights/s
 * at k = 2048, the same 14.8 when the kernel is made to reread one small piece of x. Hence the k-blocked layout
 * (../kblocked.ts: all rows' block 0, then block 1, ...) that resident 16-bit W with rows of k >= 4096 inputs use:
 * a block of x stays in L1 while each thread still reads its W as one long sequential stream per block.
 *
 * `blocked` (exported as dots*K by the resident module) adds params `part` and `mode`: the call covers one k block
 * (kp = its width) of the rows; with `mode & DOTS_FIRST` the accumulators start at zero, else at the row's four
 * vectors at part + 64r (left by the previous block); with `mode & DOTS_LAST` the row ends in the reduction to out,
 * else its accumulators go back to part. Block widths being multiples of 16, every accumulator lane sums the same
 * products in the same order as the plain kernel over the whole row: bit-identical. Measured with
 * tools/bench_kblocked.mjs (bf16, weights from DRAM, 2026-12-01, AMD EPYC VM, busy): k = 5632 1.60x (1 thread) and
 * 1.54-1.58x (2 threads), k = 11008 2.4x, k = 4096 1.13x, but k = 3072 0.83-0.85x and k = 2048 0.97x (x and a row
 * still fit in L1); blocks of 1024 and 2048 inputs alike. float32 W gains too (1.24-1.34x at k = 5632 / 11008, two
 * threads) but stays row-major: a k-blocked float32 Tensor would need a layout flag every op on Tensor would read.
 * In a whole 1.1B-shape decode step (tools/bench_decode_step.mjs, bf16-rm against bf16) down_proj ran 1.39-1.43x
 * faster on 1 thread, 1.23-1.43x on 2 (where it then streams as fast per weight as gate/up).
 *
 * With `kind` bf16/f16 (exported as dotsBf16 / dotsF16) W holds 16-bit patterns widened exactly in the loop:
 * the same float32 products and sums in the same order, hence bit-identical to `dots` on the widened W.
 * 'f16finite' (dotsF16Finite) widens without the Inf/NaN fix-up and returns 1 when any W pattern was Inf/NaN (its
 * results are then wrong and the caller reruns the rows with dotsF16), else 0: it tracks max((h << 1) & 0xffff),
 * a NaN/Inf iff >= 0xf800. 'f16scaled' (dotsF16Scaled) is 'f16finite' without the 2^112 product, for x staged as
 * x * 2^112. dotsBf16 takes x permuted by `bf16XOrder` (see above).
 */
export function emitDots(
  o: MatmulModuleOptions,
  kind: WeightKind = 'f32',
  blocked = false,
): { params: ValType[]; results: ValType[]; locals: ValType[]; code: Code } {
  const [xp, wp, kp, rows, ldw, out, part, mode] = [0, 1, 2, 3, 4, 5, 6, 7];
  const P = blocked ? 8 : 6; // first local
  const [r, k, xr] = [P, P + 1, P + 2];
  const wr = (q: number) => P + 3 + q; // W row pointers
  // Rows per pass sharing x loads (1 measured fastest from DRAM for every kind, see above)
  const R = o.dotsRows ?? 1;
  const V0 = P + 3 + R;
  const acc = (q: number, i: number) => V0 + q * 4 + i;
  const s = V0 + 4 * R;
  const xv = s + 1;
  const wl = xv + 1; // widener locals
  const wBytes = kind === 'f32' ? 4 : 2;
  const check = kind === 'f16finite' || kind === 'f16scaled';
  const mx = wl + widenLocals(kind).length;
  // bf16: one 16-byte load of 8 weights per row, widened by interleaving with zeros (punpck{l,h}wd)
  const split = kind === 'bf16' && !o.bf16Zip;
  const unpack = kind === 'bf16' && !split;
  const wt = (q: number) => mx + (check ? 1 : 0) + q;
  const hiMask = wt(R);
  const params: ValType[] = new Array(P).fill(I32);
  const locals: ValType[] = [
    ...new Array(3 + R).fill(I32),
    ...new Array(4 * R + 2).fill(V128),
    ...widenLocals(kind),
    ...(check ? [V128] : []),
    ...(kind === 'bf16' ? new Array(R + 1).fill(V128) : []),
  ];
  const c = new Code();
  const loadW = (q: number, i: number) => {
    if (split) {
      if (i % 2 === 0) c.get(wt(q)).i32(16).i32x4Shl();
      else c.get(wt(q)).get(hiMask).v128And();
      return;
    }
    if (unpack) {
      c.v128Zero()
        .get(wt(q))
        .i8x16Shuffle(i % 2 === 0 ? UNPACK_LO : UNPACK_HI);
      return;
    }
    c.get(wr(q));
    if (kind === 'f32') c.v128Load(i * 16);
    else emitWidenLoad(c, kind, wl, i * 8);
  };
  // Rows r .. r+n-1 (n <= R), then r += n.
  const pass = (n: number) => {
    for (let q = 0; q < n; q++) c.get(wp).get(r).i32(q).add().get(ldw).mul().add().set(wr(q));
    if (blocked) {
      // a later k block: the rows' accumulators from the previous block (64 bytes a row at part)
      c.get(mode).i32(DOTS_FIRST).and().eqz().if();
      for (let q = 0; q < n; q++) {
        c.get(part).get(r).i32(q).add().i32(6).shl().add().set(xr);
        for (let i = 0; i < 4; i++)
          c.get(xr)
            .v128Load(i * 16)
            .set(acc(q, i));
      }
      c.else();
    }
    for (let q = 0; q < n; q++) for (let i = 0; i < 4; i++) c.v128Zero().set(acc(q, i));
    if (blocked) c.end();
    c.get(xp).set(xr);
    // R > 1: the loop counts 8-weight halves, with an exit test after the first (never taken, kp being a multiple
    // of 16) that ends V8's basic block there: it then computes the first half's products before the second
    // half's loads instead of hoisting all of the loads and spilling accumulators
    c.get(kp)
      .i32(n > 1 ? 3 : 4)
      .shrU()
      .set(k);
    c.block();
    c.get(k).eqz().brIf(0);
    c.loop();
    for (let i = 0; i < 4; i++) {
      if (n > 1 && i === 2) c.get(k).i32(1).sub().tee(k).eqz().brIf(1);
      c.get(xr)
        .v128Load(i * 16)
        .set(xv);
      if (kind === 'bf16' && i % 2 === 0)
        for (let q = 0; q < n; q++)
          c.get(wr(q))
            .v128Load(i * 8)
            .set(wt(q));
      for (let q = 0; q < n; q++) {
        if (o.fma) {
          c.get(xv);
          loadW(q, i);
          c.get(acc(q, i)).f32x4RelaxedMadd().set(acc(q, i));
        } else {
          c.get(acc(q, i)).get(xv);
          loadW(q, i);
          c.f32x4Mul().f32x4Add().set(acc(q, i));
        }
      }
    }
    if (check)
      for (let q = 0; q < n; q++)
        for (const off of [0, 16]) c.get(mx).get(wr(q)).v128Load(off).i32(1).i16x8Shl().i16x8MaxU().set(mx);
    c.inc(xr, 64);
    for (let q = 0; q < n; q++) c.inc(wr(q), 16 * wBytes);
    c.get(k).i32(1).sub().tee(k).brIf(0);
    c.end();
    c.end();
    if (blocked) {
      // not the last k block: park the accumulators for the next one
      c.get(mode).i32(DOTS_LAST).and().eqz().if();
      for (let q = 0; q < n; q++) {
        c.get(part).get(r).i32(q).add().i32(6).shl().add().set(xr);
        for (let i = 0; i < 4; i++)
          c.get(xr)
            .get(acc(q, i))
            .v128Store(i * 16);
      }
      c.inc(r, n);
      c.br(1); // to the end of the pass (the caller's loop continues)
      c.end();
    }
    for (let q = 0; q < n; q++) {
      if (split) {
        // acc0..3 hold k = 0,2,4,6 | 1,3,5,7 | 8,10,12,14 | 9,11,13,15 (mod 16): regroup them as (k, k+4)
        // pairs, so that s = [s0, s2, s1, s3] of the plain kernel's ((acc0 + acc1) + (acc2 + acc3))
        for (const [a, b] of [
          [0, 1],
          [2, 3],
        ] as const) {
          c.get(acc(q, a)).get(acc(q, b)).i8x16Shuffle(HALVES_LO);
          c.get(acc(q, a)).get(acc(q, b)).i8x16Shuffle(HALVES_HI);
          c.f32x4Add();
        }
        c.f32x4Add().set(s);
        c.get(out).get(r).i32(q).add().i32(2).shl().add();
        c.get(s).f32x4ExtractLane(0).get(s).f32x4ExtractLane(2).f32Add();
        c.get(s).f32x4ExtractLane(1).get(s).f32x4ExtractLane(3).f32Add();
        c.f32Add().f32Store(0);
        continue;
      }
      c.get(acc(q, 0)).get(acc(q, 1)).f32x4Add().get(acc(q, 2)).get(acc(q, 3)).f32x4Add().f32x4Add().set(s);
      c.get(out).get(r).i32(q).add().i32(2).shl().add();
      c.get(s).f32x4ExtractLane(0).get(s).f32x4ExtractLane(1).f32Add();
      c.get(s).f32x4ExtractLane(2).get(s).f32x4ExtractLane(3).f32Add();
      c.f32Add().f32Store(0);
    }
    c.inc(r, n);
  };
  emitWidenInit(c, kind, wl);
  if (split) c.i32x4Const(0xffff0000 | 0).set(hiMask);
  if (check) c.v128Zero().set(mx);
  c.i32(0).set(r);
  if (R > 1) {
    c.block();
    c.loop();
    c.get(rows).get(r).sub().i32(R).ltU().brIf(1);
    pass(R);
    c.br(0);
    c.end();
    c.end();
  }
  c.block();
  c.loop();
  c.get(r).get(rows).ltU().eqz().brIf(1);
  pass(1);
  c.br(0);
  c.end();
  c.end();
  if (check) c.get(mx).i16x8Const(0xf800).i16x8GeU().v128AnyTrue();
  return { params, results: check ? [I32] : [], locals, code: c };
}
