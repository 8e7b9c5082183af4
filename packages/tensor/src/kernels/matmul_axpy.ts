/**
 * Few-rows matmul with B read along its rows (`[k, n]` with n stride 1, e.g. attention probabilities times
 * the cached values): C row i = sum over k of a[i, k] * B[k, :], as axpy passes over B's rows in place, no
 * packing. Every element is one float32 chain (the product rounded to float32, then added, k = 0..K-1 in
 * order, then the bias): the split over columns never changes it, so any thread count gives the same bits.
 * (The SIMD gemm differs from it only by float rounding.)
 */
import type { MatmulArgs } from './matmul_args.js';

let acc = new Float32Array(0);

/** Kernel: columns [colStart, colEnd) of every row of C (`batch * m` rows, few). */
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
