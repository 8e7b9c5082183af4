/**
 * The float32 linear-algebra module (SparseGPT's Cholesky, triangular inverse and column sweep), generated with
 * the engine's emitter like the matmul module. Two functions:
 *
 * gemm(ap, lda, bp, ldb, cp, ldc, mPanels, nPanels, k, load)
 *   C[4*mPanels, 8*nPanels] = (load ? C : 0) - A B, all byte pointers into the module memory:
 *   - A: panels of 4 rows laid out [k][4], panel i at ap + i*lda;
 *   - B: panels of 8 columns laid out [k][8], panel j at bp + j*ldb;
 *   - C: row-major with a row stride of ldc bytes.
 *   A 4x8 register tile (8 f32x4 accumulators); each C element is one accumulator chain over t = 0..k-1 in
 *   order, subtracted from C once at the end, so results never depend on how callers split rows or columns.
 *
 * sweep(wp, ldw, up, ldu, dp, ep, lde, mp, ldm, rows, c0, c1, kEnd)
 *   SparseGPT's in-block column sweep for `rows` independent rows: for c in [c0, c1), where mask byte
 *   m[r, c] is set: e = w[r, c] / d[c]; w[r, c] = 0; err[r, c] = e; w[r, k] -= e * u[c, k] for k < kEnd
 *   (u strictly upper: zero for k <= c, so the vector loop can start at the aligned column below c + 1).
 *   w rows at wp + r*ldw (f32), u rows at up + c*ldu (f32), d at dp (f32), mask rows at mp + r*ldm (bytes),
 *   err in A-panel layout: row r, column c at ep + (r >> 2)*lde + c*16 + (r & 3)*4. kEnd is a multiple of 4.
 */
import { Code, I32, ModuleBuilder, uleb, V128, type ValType } from './emitter.js';

const F32T = 0x7d;

/** Code plus the few opcodes the linalg kernels need beyond the matmul ones. */
class LCode extends Code {
  private op(code: number): this {
    this.raw(0xfd);
    uleb(this.bytes, code);
    return this;
  }
  f32x4Sub(): this {
    return this.op(0xe5);
  }
  f32Div(): this {
    return this.raw(0x95);
  }
  f32Const0(): this {
    return this.raw(0x43, 0, 0, 0, 0);
  }
  load8U(offset = 0): this {
    this.raw(0x2d);
    uleb(this.bytes, 0);
    uleb(this.bytes, offset);
    return this;
  }
  geU(): this {
    return this.raw(0x4f);
  }
  ltU32(): this {
    return this.raw(0x49);
  }
}

function emitGemm(): { params: ValType[]; locals: ValType[]; code: Code } {
  const [ap, lda, bp, ldb, cp, ldc, mPanels, nPanels, k, load] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [jr, ir, bpanel, apanel, ctile, aptr, bptr, bend, crow] = [10, 11, 12, 13, 14, 15, 16, 17, 18];
  const acc = (r: number, j: number) => 19 + r * 2 + j;
  const [b0, b1, av] = [27, 28, 29];
  const params: ValType[] = new Array(10).fill(I32);
  const locals: ValType[] = [...new Array(9).fill(I32), ...new Array(11).fill(V128)];
  const c = new LCode();
  c.block();
  c.get(mPanels).eqz().brIf(0);
  c.get(nPanels).eqz().brIf(0);
  c.get(bp).set(bpanel);
  c.i32(0).set(jr);
  c.loop(); // jr
  c.get(ap).set(apanel);
  c.get(cp).get(jr).i32(32).mul().add().set(ctile);
  c.i32(0).set(ir);
  c.loop(); // ir
  for (let r = 0; r < 4; r++) for (let j = 0; j < 2; j++) c.v128Zero().set(acc(r, j));
  c.get(apanel).set(aptr);
  c.get(bpanel).set(bptr);
  c.get(bpanel).get(k).i32(32).mul().add().set(bend);
  c.block();
  c.get(k).eqz().brIf(0);
  c.loop(); // t
  c.get(bptr).v128Load(0).set(b0);
  c.get(bptr).v128Load(16).set(b1);
  for (let r = 0; r < 4; r++) {
    c.get(aptr)
      .v128Load32Splat(r * 4)
      .set(av);
    c.get(acc(r, 0)).get(av).get(b0).f32x4Mul().f32x4Add().set(acc(r, 0));
    c.get(acc(r, 1)).get(av).get(b1).f32x4Mul().f32x4Add().set(acc(r, 1));
  }
  c.inc(aptr, 16).inc(bptr, 32);
  c.get(bptr).get(bend).ne().brIf(0);
  c.end();
  c.end();
  // C tile = (load ? C : 0) - acc
  c.get(ctile).set(crow);
  for (let r = 0; r < 4; r++) {
    c.get(load).if();
    for (let j = 0; j < 2; j++)
      c.get(crow)
        .get(crow)
        .v128Load(j * 16)
        .get(acc(r, j))
        .f32x4Sub()
        .v128Store(j * 16);
    c.else();
    for (let j = 0; j < 2; j++)
      c.get(crow)
        .v128Zero()
        .get(acc(r, j))
        .f32x4Sub()
        .v128Store(j * 16);
    c.end();
    c.incBy(crow, ldc);
  }
  c.incBy(apanel, lda);
  c.get(ctile).get(ldc).i32(4).mul().add().set(ctile);
  c.get(ir).i32(1).add().tee(ir).get(mPanels).ltU().brIf(0);
  c.end(); // ir
  c.incBy(bpanel, ldb);
  c.get(jr).i32(1).add().tee(jr).get(nPanels).ltU().brIf(0);
  c.end(); // jr
  c.end();
  return { params, locals, code: c };
}

function emitSweep(): { params: ValType[]; locals: ValType[]; code: Code } {
  const [wp, ldw, up, ldu, dp, ep, lde, mp, ldm, rows, c0, c1, kEnd] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const [r, col, wrow, mrow, erow, p, u, pend] = [13, 14, 15, 16, 17, 18, 19, 20];
  const e = 21; // f32
  const ev = 22; // v128
  const params: ValType[] = new Array(13).fill(I32);
  const locals: ValType[] = [...new Array(8).fill(I32), F32T as ValType, V128];
  const c = new LCode();
  c.block();
  c.get(rows).eqz().brIf(0);
  c.get(c0).get(c1).geU().brIf(0);
  c.i32(0).set(r);
  c.loop(); // rows
  c.get(wp).get(r).get(ldw).mul().add().set(wrow);
  c.get(mp).get(r).get(ldm).mul().add().set(mrow);
  c.get(ep).get(r).i32(2).shrU().get(lde).mul().add().get(r).i32(3).and().i32(2).shl().add().set(erow);
  c.get(wp).get(r).get(ldw).mul().add().get(kEnd).i32(2).shl().add().set(pend);
  c.get(c0).set(col);
  c.loop(); // columns
  c.get(mrow).get(col).add().load8U(0);
  c.if();
  // e = w / d; w = 0; err = e
  c.get(wrow).get(col).i32(2).shl().add().f32Load(0);
  c.get(dp).get(col).i32(2).shl().add().f32Load(0);
  c.f32Div().set(e);
  c.get(wrow).get(col).i32(2).shl().add().f32Const0().f32Store(0);
  c.get(erow).get(col).i32(4).shl().add().get(e).f32Store(0);
  c.get(e).f32x4Splat().set(ev);
  // k from ((col + 1) & ~3) to kEnd, four at a time
  c.get(col).i32(1).add().i32(-4).and().i32(2).shl().set(p); // byte offset of the first vector
  c.get(up).get(col).get(ldu).mul().add().get(p).add().set(u);
  c.get(wrow).get(p).add().set(p);
  c.block();
  c.get(p).get(pend).geU().brIf(0);
  c.loop();
  c.get(p).get(p).v128Load(0).get(ev).get(u).v128Load(0).f32x4Mul().f32x4Sub().v128Store(0);
  c.inc(p, 16).inc(u, 16);
  c.get(p).get(pend).ltU32().brIf(0);
  c.end();
  c.end();
  c.end(); // if masked
  c.get(col).i32(1).add().tee(col).get(c1).ltU().brIf(0);
  c.end(); // columns
  c.get(r).i32(1).add().tee(r).get(rows).ltU().brIf(0);
  c.end(); // rows
  c.end();
  return { params, locals, code: c };
}

/** The linalg module's bytes: exports `memory`, `gemm` and `sweep`. */
export function buildLinalgModule(memoryPages: number): Uint8Array {
  const m = new ModuleBuilder().addMemory(memoryPages);
  const g = emitGemm();
  m.addFunction('gemm', g.params, [], g.locals, g.code);
  const s = emitSweep();
  m.addFunction('sweep', s.params, [], s.locals, s.code);
  return m.build();
}
