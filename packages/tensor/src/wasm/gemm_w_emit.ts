/**
 * The prefill gemm over W `[out, in]` read in place: lanes run over rows of A (the activations, packed), each
 * W element is splatted from its row, so W needs no interleaved packing (only a block copy into the module's
 * memory). Every C element is still one float32 chain over k in order (acc + a * w, or the relaxed madd when
 * the module uses it), exactly as in `gebp`: the two gemms give bit-identical results.
 */
import { Code, F32, I32, V128, type ValType } from './emitter.js';
import type { MatmulModuleOptions } from './matmul_module.js';

/** Rows of A per tile (MW / 4 vectors) and W rows per tile. Measured on Zen 3 / Node 20: see docs/speed.md. */
export const MW = 8;
export const NW = 4;

/**
 * gemmW(ap, wp, cp, mPanels, nTiles, kc, ldw, cts, first)
 *
 * C[mPanels*MW, nTiles*NW] (+)= A[mPanels*MW, kc] * W[nTiles*NW, kc]^T, byte pointers into memory:
 * - A: packed MW-row panels [kc][MW], panel ir at ap + ir*kc*MW*4;
 * - W: row j at wp + j*ldw, k contiguous (float32);
 * - C: tile (ir, jt) at cp + jt*cts + ir*MW*NW*4, laid out [NW][MW] (W row major, then A row), so that the
 *   tiles of one W tile are adjacent. When `first` is 0 the tile is loaded and accumulated into.
 * Loop order: W tiles outer (NW rows x kc stay in L1), A panels inner.
 */
export function emitGemmW(o: MatmulModuleOptions): { params: ValType[]; locals: ValType[]; code: Code } {
  const MV = MW / 4;
  const [ap, wp, cp, mPanels, nTiles, kc, ldw, cts, first] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [jt, ir, ctile, wtile, aptr, aend, apanel] = [9, 10, 11, 12, 13, 14, 15];
  const wr = (j: number) => 16 + j;
  const V0 = 16 + NW;
  const acc = (j: number, v: number) => V0 + j * MV + v;
  const av = (v: number) => V0 + NW * MV + v;
  const sv = V0 + NW * MV + MV;
  const params: ValType[] = new Array(9).fill(I32);
  const locals: ValType[] = [...new Array(7 + NW).fill(I32), ...new Array(NW * MV + MV + 1).fill(V128)];
  const c = new Code();
  c.block();
  c.get(kc).eqz().brIf(0);
  c.get(mPanels).eqz().brIf(0);
  c.get(nTiles).eqz().brIf(0);
  c.get(wp).set(wtile);
  c.i32(0).set(jt);
  c.loop(); // W tiles
  c.get(cp).get(jt).get(cts).mul().add().set(ctile);
  c.get(ap).set(apanel);
  c.i32(0).set(ir);
  c.loop(); // A panels
  c.get(first).if();
  for (let j = 0; j < NW; j++) for (let v = 0; v < MV; v++) c.v128Zero().set(acc(j, v));
  c.else();
  for (let j = 0; j < NW; j++)
    for (let v = 0; v < MV; v++)
      c.get(ctile)
        .v128Load((j * MV + v) * 16)
        .set(acc(j, v));
  c.end();
  for (let j = 0; j < NW; j++) {
    c.get(wtile);
    if (j > 0) c.get(ldw).i32(j).mul().add();
    c.set(wr(j));
  }
  c.get(apanel).set(aptr);
  c.get(apanel)
    .get(kc)
    .i32(MW * 4)
    .mul()
    .add()
    .set(aend);
  c.loop(); // k
  for (let v = 0; v < MV; v++)
    c.get(aptr)
      .v128Load(v * 16)
      .set(av(v));
  for (let j = 0; j < NW; j++) {
    c.get(wr(j)).v128Load32Splat(0).set(sv);
    for (let v = 0; v < MV; v++) {
      if (o.fma) {
        c.get(av(v)).get(sv).get(acc(j, v)).f32x4RelaxedMadd().set(acc(j, v));
      } else {
        c.get(acc(j, v)).get(av(v)).get(sv).f32x4Mul().f32x4Add().set(acc(j, v));
      }
    }
    c.inc(wr(j), 4);
  }
  c.inc(aptr, MW * 4);
  c.get(aptr).get(aend).ne().brIf(0);
  c.end(); // k
  for (let j = 0; j < NW; j++)
    for (let v = 0; v < MV; v++)
      c.get(ctile)
        .get(acc(j, v))
        .v128Store((j * MV + v) * 16);
  c.get(aend).set(apanel);
  c.inc(ctile, MW * NW * 4);
  c.get(ir).i32(1).add().tee(ir).get(mPanels).ltU().brIf(0);
  c.end(); // A panels
  c.get(wtile).get(ldw).i32(NW).mul().add().set(wtile);
  c.get(jt).i32(1).add().tee(jt).get(nTiles).ltU().brIf(0);
  c.end(); // W tiles
  c.end();
  return { params, locals, code: c };
}

/**
 * untileW(src, dst, mPanels, nTiles, cts, bias, hasBias, ldd): rewrites the tiled C of gemmW (tiles as above,
 * `cts` bytes between W tiles) as row-major rows of `ldd` bytes at dst (mPanels*MW rows, nTiles*NW columns),
 * adding the bias vector at `bias` (nTiles*NW floats) when hasBias is 1: one f32 add per element.
 */
export function emitUntileW(): { params: ValType[]; locals: ValType[]; code: Code } {
  const [src, dst, mPanels, nTiles, cts, bias, hasBias, ldd] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [ir, jt, s, d, i, b] = [8, 9, 10, 11, 12, 13];
  const [bv, t] = [14, 15];
  const params: ValType[] = new Array(8).fill(I32);
  const locals: ValType[] = [...new Array(6).fill(I32), F32, F32];
  const c = new Code();
  c.block();
  c.get(mPanels).eqz().brIf(0);
  c.get(nTiles).eqz().brIf(0);
  c.i32(0).set(jt);
  c.loop(); // W tiles
  c.i32(0).set(ir);
  c.loop(); // A panels
  c.get(src)
    .get(jt)
    .get(cts)
    .mul()
    .add()
    .get(ir)
    .i32(MW * NW * 4)
    .mul()
    .add()
    .set(s);
  for (let j = 0; j < NW; j++) {
    // column jt*NW + j of rows ir*MW .. ir*MW + MW-1
    c.get(bias)
      .get(jt)
      .i32(NW * 4)
      .mul()
      .add()
      .set(b);
    c.get(hasBias).if();
    c.get(b)
      .f32Load(j * 4)
      .set(bv);
    c.end();
    c.get(dst)
      .get(ir)
      .i32(MW)
      .mul()
      .get(ldd)
      .mul()
      .add()
      .get(jt)
      .i32(NW * 4)
      .mul()
      .add()
      .set(d);
    c.i32(0).set(i);
    c.loop();
    c.get(s)
      .f32Load(j * MW * 4)
      .set(t);
    c.get(hasBias).if();
    c.get(t).get(bv).f32Add().set(t);
    c.end();
    c.get(d)
      .get(t)
      .f32Store(j * 4);
    c.inc(s, 4).incBy(d, ldd);
    c.get(i).i32(1).add().tee(i).i32(MW).ltU().brIf(0);
    c.end();
    c.get(s)
      .i32(MW * 4)
      .sub()
      .set(s);
  }
  c.get(ir).i32(1).add().tee(ir).get(mPanels).ltU().brIf(0);
  c.end(); // A panels
  c.get(jt).i32(1).add().tee(jt).get(nTiles).ltU().brIf(0);
  c.end(); // W tiles
  c.end();
  return { params, locals, code: c };
}
