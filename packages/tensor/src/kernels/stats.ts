/**
 * Float64 statistics kernels: per-column batch moments and the symmetric `X^T X` accumulation.
 */

export type ColumnMomentsArgs = {
  readonly x: Float32Array; // [rows, cols] contiguous from xOff
  readonly xOff: number;
  readonly rows: number;
  readonly cols: number;
  readonly sum: Float64Array; // [cols] out: batch sum
  readonly sumsq: Float64Array; // [cols] out: batch sum of squares
  readonly m2: Float64Array; // [cols] out: batch sum of squared deviations from the batch mean
};

/** Batch sum, sum of squares and M2 for columns [colStart, colEnd) (the kernel's "rows" are columns). */
export function columnMomentsCols(args: ColumnMomentsArgs, colStart: number, colEnd: number): void {
  const { x, xOff, rows, cols, sum, sumsq, m2 } = args;
  for (let c = colStart; c < colEnd; c++) {
    sum[c] = 0;
    sumsq[c] = 0;
    m2[c] = 0;
  }
  for (let r = 0; r < rows; r++) {
    const o = xOff + r * cols;
    for (let c = colStart; c < colEnd; c++) {
      const v = x[o + c]!;
      sum[c] += v;
      sumsq[c] += v * v;
    }
  }
  if (rows === 0) return;
  for (let r = 0; r < rows; r++) {
    const o = xOff + r * cols;
    for (let c = colStart; c < colEnd; c++) {
      const d = x[o + c]! - sum[c]! / rows;
      m2[c] += d * d;
    }
  }
}

export type XtXArgs = {
  readonly h: Float64Array; // [n, n] accumulator; only the upper triangle is written
  readonly x: Float32Array; // [rows, n] contiguous from xOff
  readonly xOff: number;
  readonly rows: number;
  readonly n: number;
  readonly scale: number;
};

const IB = 32;
const JB = 1024;

/**
 * h[i, j] += scale * sum_r x[r, i] x[r, j] for j >= i and i in [iStart, iEnd), in cache tiles, four output rows
 * by four input rows at a time. Each h[i, j] receives one sum of four products per block of four input rows
 * (then single products for the tail), in the same order whatever the tiling.
 */
function xtxTile(args: XtXArgs, iStart: number, iEnd: number): void {
  const { h, x, xOff, rows, n, scale } = args;
  const r4 = rows - (rows % 4);
  for (let ib = iStart; ib < iEnd; ib += IB) {
    const ie = Math.min(ib + IB, iEnd);
    for (let jb = ib; jb < n; jb += JB) {
      const je = Math.min(jb + JB, n);
      for (let r = 0; r < r4; r += 4) {
        const o0 = xOff + r * n;
        const o1 = o0 + n;
        const o2 = o1 + n;
        const o3 = o2 + n;
        let i = ib;
        for (; i + 3 < ie; i += 4) {
          const a0 = x[o0 + i]! * scale;
          const a1 = x[o1 + i]! * scale;
          const a2 = x[o2 + i]! * scale;
          const a3 = x[o3 + i]! * scale;
          const b0 = x[o0 + i + 1]! * scale;
          const b1 = x[o1 + i + 1]! * scale;
          const b2 = x[o2 + i + 1]! * scale;
          const b3 = x[o3 + i + 1]! * scale;
          const c0 = x[o0 + i + 2]! * scale;
          const c1 = x[o1 + i + 2]! * scale;
          const c2 = x[o2 + i + 2]! * scale;
          const c3 = x[o3 + i + 2]! * scale;
          const d0 = x[o0 + i + 3]! * scale;
          const d1 = x[o1 + i + 3]! * scale;
          const d2 = x[o2 + i + 3]! * scale;
          const d3 = x[o3 + i + 3]! * scale;
          const ha = i * n;
          const hb = ha + n;
          const hc = hb + n;
          const hd = hc + n;
          let j = Math.max(i, jb);
          // The triangle's corner: row i+1 starts at column i+1, row i+2 at i+2 (only when j begins at i).
          for (; j < je && j < i + 3; j++) {
            const x0 = x[o0 + j]!;
            const x1 = x[o1 + j]!;
            const x2 = x[o2 + j]!;
            const x3 = x[o3 + j]!;
            h[ha + j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
            if (j >= i + 1) h[hb + j] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
            if (j >= i + 2) h[hc + j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
          }
          for (; j < je; j++) {
            const x0 = x[o0 + j]!;
            const x1 = x[o1 + j]!;
            const x2 = x[o2 + j]!;
            const x3 = x[o3 + j]!;
            h[ha + j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
            h[hb + j] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
            h[hc + j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
            h[hd + j] += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3;
          }
        }
        for (; i < ie; i++) {
          const a0 = x[o0 + i]! * scale;
          const a1 = x[o1 + i]! * scale;
          const a2 = x[o2 + i]! * scale;
          const a3 = x[o3 + i]! * scale;
          const hr = i * n;
          for (let j = Math.max(i, jb); j < je; j++) {
            h[hr + j] += a0 * x[o0 + j]! + a1 * x[o1 + j]! + a2 * x[o2 + j]! + a3 * x[o3 + j]!;
          }
        }
      }
      for (let r = r4; r < rows; r++) {
        const o0 = xOff + r * n;
        for (let i = ib; i < ie; i++) {
          const a0 = x[o0 + i]! * scale;
          const hr = i * n;
          for (let j = Math.max(i, jb); j < je; j++) h[hr + j] += a0 * x[o0 + j]!;
        }
      }
    }
  }
}

/**
 * Kernel over ceil(n/2) "rows": row k owns output rows k and n-1-k of the upper triangle, which balances
 * the triangular work across chunks. Every h[i, j] sees the same sequence of additions for any chunking.
 */
export function xtxRows(args: XtXArgs, rowStart: number, rowEnd: number): void {
  const n = args.n;
  xtxTile(args, rowStart, rowEnd);
  const lo = Math.max(n - rowEnd, rowEnd);
  const hi = n - rowStart;
  if (hi > lo) xtxTile(args, lo, hi);
}

/** Copies the upper triangle of the [n, n] matrix `h` onto its lower triangle. */
export function mirrorUpper(h: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) h[j * n + i] = h[i * n + j]!;
}
