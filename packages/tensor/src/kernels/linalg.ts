/**
 * Float64 dense kernels behind ops/linalg.ts (row-major `Float64Array`s of order `n`): a cache- and
 * register-blocked Cholesky and lower-triangular inverse. The inverse works on a column range so it can be
 * split across threads; every entry is computed in the same order whatever the range, so results are
 * bit-identical for any split.
 */

/** Row-block and column-chunk sizes of the blocked loops (tuned for about 1 MB of L2). */
const RB = 64;
const KC = 256;

/** sum_{k < len} x[xo + k] * x[yo + k] with four accumulators. */
export function dot(x: Float64Array, xo: number, yo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += x[xo + k]! * x[yo + k]!;
    s1 += x[xo + k + 1]! * x[yo + k + 1]!;
    s2 += x[xo + k + 2]! * x[yo + k + 2]!;
    s3 += x[xo + k + 3]! * x[yo + k + 3]!;
  }
  for (; k < len; k++) s0 += x[xo + k]! * x[yo + k]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * In-place lower Cholesky factor of the symmetric positive definite `l` [n, n] (lower triangle read, upper
 * untouched): Crout order, blocked by rows (RB) and inner dimension (KC) so the dot products run from cache,
 * two rows sharing each load. Returns -1 on success, else the failing pivot index i, with l[i, i] set to the
 * offending value (<= 0 or not finite).
 */
export function choleskyLowerInPlace(l: Float64Array, n: number): number {
  for (let ib0 = 0; ib0 < n; ib0 += RB) {
    const ib1 = Math.min(ib0 + RB, n);
    // Columns left of the block, chunk by chunk: subtract, and finish (divide) the columns of the chunk.
    for (let kc0 = 0; kc0 < ib0; kc0 += KC) {
      const kc1 = Math.min(kc0 + KC, ib0);
      for (let j = kc0; j < ib1; j++) {
        const ke = Math.min(j, kc1);
        const rj = j * n;
        const i0 = Math.max(ib0, j);
        if (ke > kc0) {
          const len = ke - kc0;
          const b = rj + kc0;
          let i = i0;
          for (; i + 1 < ib1; i += 2) {
            const a0 = i * n + kc0;
            const a1 = a0 + n;
            let s0 = 0;
            let s1 = 0;
            let t0 = 0;
            let t1 = 0;
            let k = 0;
            for (; k + 1 < len; k += 2) {
              const y0 = l[b + k]!;
              const y1 = l[b + k + 1]!;
              s0 += l[a0 + k]! * y0;
              s1 += l[a0 + k + 1]! * y1;
              t0 += l[a1 + k]! * y0;
              t1 += l[a1 + k + 1]! * y1;
            }
            if (k < len) {
              s0 += l[a0 + k]! * l[b + k]!;
              t0 += l[a1 + k]! * l[b + k]!;
            }
            l[a0 - kc0 + j]! -= s0 + s1;
            l[a1 - kc0 + j]! -= t0 + t1;
          }
          if (i < ib1) l[i * n + j]! -= dot(l, i * n + kc0, b, len);
        }
        if (j < kc1) {
          const d = l[rj + j]!;
          for (let i = i0; i < ib1; i++) l[i * n + j]! /= d;
        }
      }
    }
    // The diagonal block itself.
    for (let i = ib0; i < ib1; i++) {
      const ri = i * n;
      for (let j = ib0; j <= i; j++) {
        const rj = j * n;
        const v = l[ri + j]! - dot(l, ri + ib0, rj + ib0, j - ib0);
        if (j < i) l[ri + j] = v / l[rj + j]!;
        else {
          l[ri + i] = v > 0 && Number.isFinite(v) ? Math.sqrt(v) : v;
          if (!(v > 0) || !Number.isFinite(v)) return i;
        }
      }
    }
  }
  return -1;
}

export type LowerInverseArgs = {
  readonly l: Float64Array; // [n, n] lower triangular, nonzero diagonal
  readonly m: Float64Array; // [n, n] output, zero on entry; receives columns [colStart, colEnd) of L^-1
  readonly n: number;
};

/**
 * Columns [colStart, colEnd) of M = L^-1 (row algorithm, blocked like the Cholesky, four rows of M per pass).
 * `m` must be zero on entry in those columns. The grouping follows the global KC grid, not the range.
 */
export function lowerInverseCols(args: LowerInverseArgs, colStart: number, colEnd: number): void {
  const { l, m, n } = args;
  for (let ib0 = 0; ib0 < n; ib0 += RB) {
    const ib1 = Math.min(ib0 + RB, n);
    if (ib1 <= colStart) continue; // rows above the range hold only zeros in it
    // Contributions of the finished rows k < ib0: m[i, :] -= L[i, k] * m[k, :].
    for (let kb0 = 0; kb0 < ib0; kb0 += RB) {
      const kb1 = Math.min(kb0 + RB, ib0);
      const gEnd = Math.min(kb1, colEnd);
      for (let g0 = Math.floor(colStart / KC) * KC; g0 < gEnd; g0 += KC) {
        const jc0 = Math.max(g0, colStart);
        const jc1 = Math.min(g0 + KC, gEnd);
        for (let i = ib0; i < ib1; i++) {
          const ri = i * n;
          let k = Math.max(kb0, g0);
          // Entries m[k, j > k] are zero, so running every row of a group up to the last one's diagonal is exact.
          for (; k + 3 < kb1; k += 4) {
            const je = Math.min(jc1, k + 4);
            if (je <= jc0) continue;
            const c0 = l[ri + k]!;
            const c1 = l[ri + k + 1]!;
            const c2 = l[ri + k + 2]!;
            const c3 = l[ri + k + 3]!;
            const r0 = k * n;
            const r1 = r0 + n;
            const r2 = r1 + n;
            const r3 = r2 + n;
            for (let j = jc0; j < je; j++) {
              m[ri + j] = m[ri + j]! - (c0 * m[r0 + j]! + c1 * m[r1 + j]! + (c2 * m[r2 + j]! + c3 * m[r3 + j]!));
            }
          }
          for (; k < kb1; k++) {
            const c = l[ri + k]!;
            if (c === 0) continue;
            const rk = k * n;
            const je = Math.min(jc1, k + 1);
            for (let j = jc0; j < je; j++) m[ri + j]! -= c * m[rk + j]!;
          }
        }
      }
    }
    for (let i = ib0; i < ib1; i++) {
      const ri = i * n;
      for (let k = ib0; k < i; k++) {
        const c = l[ri + k]!;
        if (c === 0) continue;
        const rk = k * n;
        const je = Math.min(k + 1, colEnd);
        for (let j = colStart; j < je; j++) m[ri + j]! -= c * m[rk + j]!;
      }
      const inv = 1 / l[ri + i]!;
      const je = Math.min(i, colEnd);
      for (let j = colStart; j < je; j++) m[ri + j]! *= inv;
      if (i >= colStart && i < colEnd) m[ri + i] = inv;
    }
  }
}

/**
 * Pool kernel for L^-1 over ceil(n/2) units: unit u owns columns u and n-1-u (a cheap and a dear column of the
 * triangle), so an even split of units balances the work. `m` must be zero on entry.
 */
export function lowerInversePairs(args: LowerInverseArgs, unitStart: number, unitEnd: number): void {
  const n = args.n;
  lowerInverseCols(args, unitStart, unitEnd);
  const hiStart = Math.max(n - unitEnd, unitEnd);
  if (n - unitStart > hiStart) lowerInverseCols(args, hiStart, n - unitStart);
}
