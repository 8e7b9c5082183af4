/** Row kernel for a float64 rank-k trailing update (SparseGPT's lazy batch update), split over rows of C. */

export type SubProductArgs = {
  readonly c: Float64Array; // [rows, ldc] updated in place, columns [colStart, colEnd)
  readonly ldc: number;
  readonly a: Float64Array; // [rows, k]
  readonly k: number;
  readonly b: Float64Array; // [*, ldb]; rows bRow0 .. bRow0 + k are used
  readonly ldb: number;
  readonly bRow0: number;
  readonly colStart: number;
  readonly colEnd: number;
};

/** Column chunk of the update, so the panel of B stays in cache. */
const NC = 512;

/**
 * For rows [rowStart, rowEnd): C[r, colStart:colEnd] -= sum_t A[r, t] * B[bRow0 + t, colStart:colEnd]. Four
 * columns of A per pass (C's row loaded and stored once per four); all-zero groups of A are skipped. Each row is
 * computed the same way whatever the split, so results are bit-identical for any thread count.
 */
export function subProductRows(args: SubProductArgs, rowStart: number, rowEnd: number): void {
  const { c, ldc, a, k, b, ldb, bRow0, colStart, colEnd } = args;
  for (let k0 = colStart; k0 < colEnd; k0 += NC) {
    const k1 = Math.min(k0 + NC, colEnd);
    for (let r = rowStart; r < rowEnd; r++) {
      const o = r * k;
      const cr = r * ldc;
      let t = 0;
      for (; t + 3 < k; t += 4) {
        const e0 = a[o + t]!;
        const e1 = a[o + t + 1]!;
        const e2 = a[o + t + 2]!;
        const e3 = a[o + t + 3]!;
        if (e0 === 0 && e1 === 0 && e2 === 0 && e3 === 0) continue;
        const h0 = (bRow0 + t) * ldb;
        const h1 = h0 + ldb;
        const h2 = h1 + ldb;
        const h3 = h2 + ldb;
        for (let j = k0; j < k1; j++) {
          c[cr + j] = c[cr + j]! - (e0 * b[h0 + j]! + e1 * b[h1 + j]! + (e2 * b[h2 + j]! + e3 * b[h3 + j]!));
        }
      }
      for (; t < k; t++) {
        const e = a[o + t]!;
        if (e === 0) continue;
        const hr = (bRow0 + t) * ldb;
        for (let j = k0; j < k1; j++) c[cr + j]! -= e * b[hr + j]!;
      }
    }
  }
}
