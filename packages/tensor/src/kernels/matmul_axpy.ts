/**
 * Few-rows matmul with B read along its rows (`[k, n]` with n stride 1, e.g. attention probabilities times
 * the cached values): C row i = sum over k of a[i, k] * B[k, :], as axpy passes over B's rows in place, no
 * packing. Every element is one float32 chain (the product rounded to float32, then added, k = 0..K-1 in
 * order, then the bias): the split over columns never changes it, so any thread count gives the same bits.
 * (The SIMD gemm differs from it only by float rounding.)
 */
import { matmulWasm } from '../wasm/runtime.js';
import type { MatmulArgs } from './matmul_args.js';

let acc = new Float32Array(0);

/**
 * Kernel: columns [colStart, colEnd) of every row of C (`batch * m` rows, few), with the SIMD axpy of the matmul
 * module (wasm/axpy_emit.ts): B's columns are copied into its memory (rows padded to whole f32x4 blocks).
 */
export function axpyRowsWasmKernel(args: MatmulArgs, colStart: number, colEnd: number): void {
  const w = matmulWasm();
  const { a, b, c, n, k, m, bias } = args;
  const cnt = colEnd - colStart;
  const nb = Math.ceil(cnt / 4);
  const ld = nb * 4;
  const A = 0;
  const B = Math.ceil((k * 4) / 64) * 64;
  const OUT = B + k * ld * 4;
  w.ensure(OUT + ld * 4);
  for (let bi = 0; bi < args.batch; bi++) {
    let f = w.f32();
    const bo = args.bOff[bi]! + colStart;
    for (let kk = 0; kk < k; kk++) {
      const src = bo + kk * args.bKStride;
      f.set(b.subarray(src, src + cnt), B / 4 + kk * ld);
      if (ld > cnt) f.fill(0, B / 4 + kk * ld + cnt, B / 4 + (kk + 1) * ld);
    }
    for (let i = 0; i < m; i++) {
      const ar = args.aOff[bi]! + i * args.aRowStride;
      if (args.aKStride === 1) f.set(a.subarray(ar, ar + k), A / 4);
      else for (let kk = 0; kk < k; kk++) f[A / 4 + kk] = a[ar + kk * args.aKStride]!;
      w.axpy(A, B, k, nb, ld * 4, OUT);
      f = w.f32();
      const o = (bi * m + i) * n + colStart;
      if (bias.length === 0) c.set(f.subarray(OUT / 4, OUT / 4 + cnt), o);
      else
        for (let j = 0; j < cnt; j++)
          c[o + j] = Math.fround(f[OUT / 4 + j]! + bias[args.biasOff + (colStart + j) * args.biasStride]!);
    }
  }
}

/** The plain-JS form of `axpyRowsWasmKernel` (same bits): the naive reference of the tests. */
export function axpyRowsKernel(args: MatmulArgs, colStart: number, colEnd: number): void {
  const { a, b, c, n, k, m, bias } = args;
  const cnt = colEnd - colStart;
  if (acc.length < cnt) acc = new Float32Array(cnt);
  const ks = args.bKStride;
  for (let bi = 0; bi < args.batch; bi++) {
    for (let i = 0; i < m; i++) {
      acc.fill(0, 0, cnt);
      const ar = args.aOff[bi]! + i * args.aRowStride;
      for (let kk = 0; kk < k; kk++) {
        const x = a[ar + kk * args.aKStride]!;
        const row = args.bOff[bi]! + kk * ks + colStart;
        for (let j = 0; j < cnt; j++) acc[j] = acc[j]! + Math.fround(x * b[row + j]!);
      }
      const o = (bi * m + i) * n + colStart;
      if (bias.length === 0) c.set(acc.subarray(0, cnt), o);
      else
        for (let j = 0; j < cnt; j++)
          c[o + j] = Math.fround(acc[j]! + bias[args.biasOff + (colStart + j) * args.biasStride]!);
    }
  }
}
