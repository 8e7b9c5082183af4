/**
 * axpy(ap, bp, k, nb, ldb, out): out[j] = sum over kk < k of a[kk] * b[kk * ldb + j] for j < 4 * nb (ldb in
 * bytes, b rows padded to whole f32x4 blocks), columns 8 at a time (then 4): for every element one float32 chain
 * over kk in order, the product rounded to float32 and then added (f32x4.mul, f32x4.add), like
 * kernels/matmul_axpy.ts's plain loop, so both give the same bits.
 */
import { Code, I32, V128, type ValType } from './emitter.js';

export function emitAxpy(): { params: ValType[]; locals: ValType[]; code: Code } {
  const [ap, bp, k, nb, ldb, out] = [0, 1, 2, 3, 4, 5];
  const [j, kk, pa, pb] = [6, 7, 8, 9];
  const [acc0, acc1, av] = [10, 11, 12];
  const c = new Code();
  // Columns [4j, 4j + 4 * w) (w = 1 or 2) over all of k.
  const block = (w: number) => {
    c.v128Zero().set(acc0);
    if (w === 2) c.v128Zero().set(acc1);
    c.get(ap).set(pa);
    c.get(bp).get(j).i32(4).shl().add().set(pb);
    c.get(k).set(kk);
    c.block();
    c.get(kk).eqz().brIf(0);
    c.loop();
    c.get(pa).f32Load(0).f32x4Splat().set(av);
    c.get(acc0).get(pb).v128Load(0).get(av).f32x4Mul().f32x4Add().set(acc0);
    if (w === 2) c.get(acc1).get(pb).v128Load(16).get(av).f32x4Mul().f32x4Add().set(acc1);
    c.inc(pa, 4);
    c.get(pb).get(ldb).add().set(pb);
    c.get(kk).i32(1).sub().tee(kk).brIf(0);
    c.end();
    c.end();
    c.get(out).get(j).i32(4).shl().add().get(acc0).v128Store(0);
    if (w === 2) c.get(out).get(j).i32(4).shl().add().get(acc1).v128Store(16);
    c.inc(j, w);
  };
  c.i32(0).set(j);
  c.block();
  c.loop();
  c.get(nb).get(j).sub().i32(2).ltU().brIf(1);
  block(2);
  c.br(0);
  c.end();
  c.end();
  c.get(j).get(nb).ltU().if();
  block(1);
  c.end();
  return { params: new Array(6).fill(I32), locals: [I32, I32, I32, I32, V128, V128, V128], code: c };
}
