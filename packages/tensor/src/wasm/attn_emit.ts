/**
 * The decode-attention kernel: a few new query rows against cached keys and values, every head in one call
 * (see ops/attention_decode.ts for the contract). Per query row and head: scores q·k over the visible keys
 * (four keys at a time sharing q loads, one f32x4 chain per key over d in order, lanes reduced as
 * (l0 + l1) + (l2 + l3)), softmax in float32 (max subtracted, exp by `emitExpF32x4`, sum in four lanes,
 * probabilities e * (1 / sum)), then out = sum_j p_j v_j (one f32x4 chain per output lane over j in order).
 * Every result is computed the same way whatever its position in a group of four: the bits do not depend on
 * the number of keys or on how heads are split across calls.
 */
import { Code, F32, I32, V128, type ValType } from './emitter.js';

/** Appends a SIMD instruction (0xfd prefix, LEB128 opcode). */
function simd(c: Code, op: number): Code {
  c.raw(0xfd);
  do {
    let b = op & 0x7f;
    op >>>= 7;
    if (op) b |= 0x80;
    c.raw(b);
  } while (op);
  return c;
}

const f32Bits = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]!;
/** `v128.const` with four equal f32 lanes. */
function f32x4Const(c: Code, v: number): Code {
  return c.i32x4Const(f32Bits(v) | 0);
}
/** `f32.const v`. */
function f32Const(c: Code, v: number): Code {
  const b = f32Bits(v);
  return c.raw(0x43, b & 0xff, (b >>> 8) & 0xff, (b >>> 16) & 0xff, b >>> 24);
}

const OP = {
  f32x4Sub: 0xe5,
  f32x4Max: 0xe9,
  f32x4Nearest: 0x6a,
  i32x4TruncSatF32x4S: 0xf8,
  i32x4Add: 0xae,
  f32x4Ge: 0x46,
} as const;

/** Local variables by name, appended after the parameters. */
class Locals {
  readonly types: ValType[] = [];
  constructor(private readonly base: number) {}
  add(t: ValType): number {
    this.types.push(t);
    return this.base + this.types.length - 1;
  }
}

/** Below this, e^x is flushed to 0 (e^-87 ≈ 1.6e-38 is still a normal float32). */
export const EXP_FLOOR = -87;
const LOG2E = Math.LOG2E;
/** ln 2 split (Cephes): C1 has few mantissa bits, so k * C1 is exact for the k that occur. */
const C1 = 0.693359375;
const C2 = -2.1219444e-4;
/** Cephes expf polynomial for e^r - 1 - r over r^2, |r| <= ln2 / 2. */
const P = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** Locals `emitExpF32x4` needs. */
export function expLocals(l: Locals): { x: number; k: number; r: number; y: number } {
  return { x: l.add(V128), k: l.add(V128), r: l.add(V128), y: l.add(V128) };
}

/**
 * Pops x (f32x4, every lane <= 88) and pushes e^x: k = nearest(x log2 e), r = x - k ln2 (two-part ln2),
 * e^r by the Cephes polynomial (about 1 ulp), times 2^k built in the exponent bits; lanes below EXP_FLOOR
 * (and -Inf, NaN) give 0.
 */
export function emitExpF32x4(c: Code, t: { x: number; k: number; r: number; y: number }): void {
  c.set(t.x);
  f32x4Const(c.get(t.x), LOG2E).f32x4Mul();
  simd(c, OP.f32x4Nearest).set(t.k);
  c.get(t.x);
  f32x4Const(c.get(t.k), C1).f32x4Mul();
  simd(c, OP.f32x4Sub);
  f32x4Const(c.get(t.k), C2).f32x4Mul();
  simd(c, OP.f32x4Sub).set(t.r);
  f32x4Const(c, P[0]!);
  for (let i = 1; i < P.length; i++) f32x4Const(c.get(t.r).f32x4Mul(), P[i]!).f32x4Add();
  c.get(t.r).get(t.r).f32x4Mul().f32x4Mul().get(t.r).f32x4Add();
  f32x4Const(c, 1).f32x4Add().set(t.y);
  // 2^k: (k + 127) << 23 as float bits
  simd(c.get(t.k), OP.i32x4TruncSatF32x4S).i32x4Const(127);
  simd(c, OP.i32x4Add).i32(23).i32x4Shl();
  c.get(t.y).f32x4Mul();
  f32x4Const(c.get(t.x), EXP_FLOOR);
  simd(c, OP.f32x4Ge).v128And();
}

/** expF32(src, dst, n): dst[i] = e^src[i] for i < n (n a multiple of 4; byte pointers). For tests. */
export function emitExpTest(): { params: ValType[]; locals: ValType[]; code: Code } {
  const [src, dst, n] = [0, 1, 2];
  const l = new Locals(3);
  const end = l.add(I32);
  const t = expLocals(l);
  const c = new Code();
  c.get(src).get(n).i32(2).shl().add().set(end);
  c.block().get(n).eqz().brIf(0).loop();
  c.get(dst).get(src).v128Load(0);
  emitExpF32x4(c, t);
  c.v128Store(0);
  c.inc(src, 16).inc(dst, 16);
  c.get(src).get(end).ltU().brIf(0);
  c.end().end();
  return { params: [I32, I32, I32], locals: l.types, code: c };
}

/** Horizontal sum of the f32x4 in local `v`: (l0 + l1) + (l2 + l3). */
function hsum(c: Code, v: number): Code {
  c.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add();
  c.get(v).f32x4ExtractLane(2).get(v).f32x4ExtractLane(3).f32Add();
  return c.f32Add();
}

/** `while (cond) body`: cond pushes an i32 (non-zero to run the body). */
function whileLoop(c: Code, cond: () => void, body: () => void): void {
  c.block().loop();
  cond();
  c.eqz().brIf(1);
  body();
  c.br(0).end().end();
}

/**
 * attnDecode(qp, kp, vp, outp, sp, H, rep, D, L, len, T, W, h0, h1): for query rows t < T at positions
 * len - T + t and heads h0 <= h < h1 (kv head h / rep): out[t, h] = softmax(q[t, h] · K[g, lo..pos]ᵀ) V[g, lo..pos]
 * with lo = max(0, pos - W + 1) when W > 0, else 0. q, out: [T, H*D] float32; K, V: [KV, L, D]; sp: scratch for
 * len + 4 scores. Byte pointers; D a multiple of 4.
 */
export function emitAttnDecode(): { params: ValType[]; locals: ValType[]; code: Code } {
  const [qp, kp, vp, outp, sp, H, rep, D, L, len, T, W, h0, h1] = Array.from({ length: 14 }, (_, i) => i);
  const l = new Locals(14);
  const [t, h, pos, lo, n, qrow, kb, vb, j, d, rowB, sptr, send, vptr, optr, dleft] = Array.from({ length: 16 }, () =>
    l.add(I32),
  );
  const kq = [l.add(I32), l.add(I32), l.add(I32), l.add(I32)];
  const [mx, inv] = [l.add(F32), l.add(F32)];
  const acc = Array.from({ length: 8 }, () => l.add(V128));
  const [qv, sv] = [l.add(V128), l.add(V128)];
  const ex = expLocals(l);
  const c = new Code();
  c.get(D).i32(2).shl().set(rowB);
  c.i32(0).set(t);
  whileLoop(
    c,
    () => c.get(t).get(T).ltU(),
    () => {
      // pos = len - T + t; lo = W > 0 && pos + 1 > W ? pos + 1 - W : 0; n = pos + 1 - lo
      c.get(len).get(T).sub().get(t).add().set(pos);
      c.i32(0).set(lo);
      c.get(W).if().get(pos).i32(1).add().get(W).gtU().if();
      c.get(pos).i32(1).add().get(W).sub().set(lo);
      c.end().end();
      c.get(pos).i32(1).add().get(lo).sub().set(n);
      c.get(sp).get(n).i32(3).add().i32(-4).and().i32(2).shl().add().set(send);
      c.get(h0).set(h);
      whileLoop(
        c,
        () => c.get(h).get(h1).ltU(),
        () => {
          head();
          c.inc(h, 1);
        },
      );
      c.inc(t, 1);
    },
  );

  function head(): void {
    c.get(qp).get(t).get(H).mul().get(h).add().get(rowB).mul().add().set(qrow);
    // kb = kp + (g * L + lo) * rowB, g = h / rep
    c.get(h).get(rep).raw(0x6e).get(L).mul().get(lo).add().get(rowB).mul().set(kb);
    c.get(vp).get(kb).add().set(vb);
    c.get(kp).get(kb).add().set(kb);
    scores();
    softmax();
    weighted();
  }

  // scores: sp[j] = q · K[lo + j], j < n, four keys at a time, then one at a time
  function scoresPass(nk: number): void {
    for (let i = 0; i < nk; i++) {
      c.get(kb).get(j).get(rowB).mul().add();
      if (i) c.get(rowB).i32(i).mul().add();
      c.set(kq[i]!);
      c.v128Zero().set(acc[i]!);
    }
    c.get(D).i32(2).shrU().set(d);
    c.get(qrow).set(vptr);
    c.loop();
    c.get(vptr).v128Load(0).set(qv);
    for (let i = 0; i < nk; i++) {
      c.get(acc[i]!).get(qv).get(kq[i]!).v128Load(0).f32x4Mul().f32x4Add().set(acc[i]!);
      c.inc(kq[i]!, 16);
    }
    c.inc(vptr, 16);
    c.get(d).i32(1).sub().tee(d).brIf(0);
    c.end();
    for (let i = 0; i < nk; i++) {
      c.get(sp).get(j).i32(i).add().i32(2).shl().add();
      hsum(c, acc[i]!).f32Store(0);
    }
    c.inc(j, nk);
  }
  function scores(): void {
    c.i32(0).set(j);
    whileLoop(
      c,
      () => c.get(j).i32(4).add().get(n).gtU().eqz(),
      () => scoresPass(4),
    );
    whileLoop(
      c,
      () => c.get(j).get(n).ltU(),
      () => scoresPass(1),
    );
    // pad to a multiple of four with -Inf (their exp is 0)
    whileLoop(
      c,
      () => c.get(sp).get(j).i32(2).shl().add().get(send).ltU(),
      () => {
        c.get(sp).get(j).i32(2).shl().add();
        f32Const(c, Number.NEGATIVE_INFINITY).f32Store(0);
        c.inc(j, 1);
      },
    );
  }

  /** for (sptr = sp; sptr < send; sptr += 16) body() */
  function overScores(body: () => void): void {
    c.get(sp).set(sptr);
    whileLoop(
      c,
      () => c.get(sptr).get(send).ltU(),
      () => {
        body();
        c.inc(sptr, 16);
      },
    );
  }

  function softmax(): void {
    f32x4Const(c, Number.NEGATIVE_INFINITY).set(sv);
    overScores(() => {
      c.get(sv).get(sptr).v128Load(0);
      simd(c, OP.f32x4Max).set(sv);
    });
    // mx = max of the lanes (NaN propagates); all -Inf -> 0
    c.get(sv).f32x4ExtractLane(0).get(sv).f32x4ExtractLane(1).raw(0x97);
    c.get(sv).f32x4ExtractLane(2).get(sv).f32x4ExtractLane(3).raw(0x97).raw(0x97).set(mx);
    c.get(mx);
    f32Const(c, Number.NEGATIVE_INFINITY).raw(0x5b).if();
    f32Const(c, 0).set(mx);
    c.end();
    c.get(mx).f32x4Splat().set(qv);
    c.v128Zero().set(acc[0]!);
    overScores(() => {
      c.get(sptr).get(sptr).v128Load(0).get(qv);
      simd(c, OP.f32x4Sub);
      emitExpF32x4(c, ex);
      c.tee(ex.r).v128Store(0); // r is free once the exp is done
      c.get(acc[0]!).get(ex.r).f32x4Add().set(acc[0]!);
    });
    f32Const(c, 1);
    hsum(c, acc[0]!).raw(0x95).set(inv);
    c.get(inv).f32x4Splat().set(qv);
    overScores(() => {
      c.get(sptr).get(sptr).v128Load(0).get(qv).f32x4Mul().v128Store(0);
    });
  }

  // out[t, h, d..] = sum_j p_j V[lo + j, d..]: 32 lanes at a time, then 16, then 4
  function weightedPass(nv: number): void {
    for (let i = 0; i < nv; i++) c.v128Zero().set(acc[i]!);
    c.get(vb).set(vptr);
    c.get(sp).set(sptr);
    c.get(sp).get(n).i32(2).shl().add().set(send);
    c.loop();
    c.get(sptr).v128Load32Splat(0).set(qv);
    for (let i = 0; i < nv; i++)
      c.get(acc[i]!)
        .get(qv)
        .get(vptr)
        .v128Load(16 * i)
        .f32x4Mul()
        .f32x4Add()
        .set(acc[i]!);
    c.incBy(vptr, rowB).inc(sptr, 4);
    c.get(sptr).get(send).ltU().brIf(0);
    c.end();
    for (let i = 0; i < nv; i++)
      c.get(optr)
        .get(acc[i]!)
        .v128Store(16 * i);
    c.inc(vb, 16 * nv).inc(optr, 16 * nv);
    c.get(dleft)
      .i32(4 * nv)
      .sub()
      .set(dleft);
  }
  function weighted(): void {
    c.get(outp).get(qrow).get(qp).sub().add().set(optr);
    c.get(D).set(dleft);
    for (const nv of [8, 4])
      whileLoop(
        c,
        () =>
          c
            .get(dleft)
            .i32(4 * nv)
            .ltU()
            .eqz(),
        () => weightedPass(nv),
      );
    whileLoop(
      c,
      () => c.get(dleft),
      () => weightedPass(1),
    );
    c.get(sp).get(n).i32(3).add().i32(-4).and().i32(2).shl().add().set(send);
  }

  return { params: new Array(14).fill(I32), locals: l.types, code: c };
}
