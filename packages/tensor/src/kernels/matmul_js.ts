/**
 * Plain-JS matmul kernel: packed panels and a 3x3 register block with float64 accumulators.
 *
 * Per row range it walks column blocks of JNC columns, packs B[k, JNC] into 3-column panels ([k][3],
 * float64), packs 3 rows of A ([k][3]) and accumulates each 3x3 tile over the full k in order. Every C
 * element is one float64 chain over k = 0..K-1, rounded once to float32 (then the bias is added), so the
 * result does not depend on how rows are split between threads. Edge tiles use zero padding and the same
 * loop.
 */
import { forEachBatchRows, type MatmulArgs, widenRowB } from './matmul_args.js';

const JR = 3;
const JNC = 48;

// Per-thread scratch (contents never influence results).
let packA = new Float64Array(0);
let packB = new Float64Array(0);
let wRows = new Float32Array(0); // 16-bit W rows widened to float32
const tileBuf = new Float64Array(JR * JR);

function scratch(k: number): void {
  if (packA.length < k * JR) packA = new Float64Array(k * JR);
  if (packB.length < k * JNC) packB = new Float64Array(k * JNC);
  if (wRows.length < 4 * k) wRows = new Float32Array(4 * k);
}

function rowsJs(args: MatmulArgs, bi: number, m0: number, m1: number): void {
  const { n, k, a, b, c, bias } = args;
  const ao = args.aOff[bi]!;
  const bo = args.bOff[bi]!;
  const ars = args.aRowStride;
  const aks = args.aKStride;
  const bks = args.bKStride;
  const bns = args.bNStride;
  const hasBias = bias.length > 0;
  const cRow0 = bi * args.m;
  const pa = packA;
  const pb = packB;
  for (let jc = 0; jc < n; jc += JNC) {
    const nc = Math.min(JNC, n - jc);
    // pack B: panel p holds columns jc + 3p .. jc + 3p + 2 as [k][3]
    for (let p = 0; p * JR < nc; p++) {
      const base = p * k * JR;
      for (let j = 0; j < JR; j++) {
        const col = jc + p * JR + j;
        if (col >= jc + nc) {
          for (let kk = 0; kk < k; kk++) pb[base + kk * JR + j] = 0;
          continue;
        }
        if (args.bHalf) {
          const row = widenRowB(args, bi, col, wRows);
          for (let kk = 0, d = base + j; kk < k; kk++, d += JR) pb[d] = row[kk]!;
          continue;
        }
        const src = bo + col * bns;
        for (let kk = 0, d = base + j; kk < k; kk++, d += JR) pb[d] = b[src + kk * bks]!;
      }
    }
    for (let i0 = m0; i0 < m1; i0 += JR) {
      const mr = Math.min(JR, m1 - i0);
      for (let r = 0; r < JR; r++) {
        if (r >= mr) {
          for (let kk = 0; kk < k; kk++) pa[kk * JR + r] = 0;
          continue;
        }
        const src = ao + (i0 + r) * ars;
        for (let kk = 0, d = r; kk < k; kk++, d += JR) pa[d] = a[src + kk * aks]!;
      }
      for (let p = 0; p * JR < nc; p++) {
        let c00 = 0,
          c01 = 0,
          c02 = 0,
          c10 = 0,
          c11 = 0,
          c12 = 0,
          c20 = 0,
          c21 = 0,
          c22 = 0;
        let ia = 0;
        let ib = p * k * JR;
        for (let kk = 0; kk < k; kk++, ia += 3, ib += 3) {
          const a0 = pa[ia]!,
            a1 = pa[ia + 1]!,
            a2 = pa[ia + 2]!;
          const b0 = pb[ib]!,
            b1 = pb[ib + 1]!,
            b2 = pb[ib + 2]!;
          c00 += a0 * b0;
          c01 += a0 * b1;
          c02 += a0 * b2;
          c10 += a1 * b0;
          c11 += a1 * b1;
          c12 += a1 * b2;
          c20 += a2 * b0;
          c21 += a2 * b1;
          c22 += a2 * b2;
        }
        const tile = tileBuf;
        tile[0] = c00;
        tile[1] = c01;
        tile[2] = c02;
        tile[3] = c10;
        tile[4] = c11;
        tile[5] = c12;
        tile[6] = c20;
        tile[7] = c21;
        tile[8] = c22;
        const j0 = jc + p * JR;
        const nw = Math.min(JR, jc + nc - j0);
        for (let r = 0; r < mr; r++) {
          const o = (cRow0 + i0 + r) * n + j0;
          for (let j = 0; j < nw; j++) {
            const v = Math.fround(tile[r * JR + j]!);
            c[o + j] = hasBias ? v + bias[args.biasOff + (j0 + j) * args.biasStride]! : v;
          }
        }
      }
    }
  }
}

/** Kernel: rows [rowStart, rowEnd) of C `[batch * m, n]` with plain JS loops. */
export function matmulJsKernel(args: MatmulArgs, rowStart: number, rowEnd: number): void {
  scratch(args.k);
  forEachBatchRows(args, rowStart, rowEnd, (bi, m0, m1) => rowsJs(args, bi, m0, m1));
}

/**
 * Kernel: output columns [colStart, colEnd) of every row of C, reading B columns in place (no packing).
 * For few rows (decode). Each element is the same float64 chain over k as in `matmulJsKernel`, so both
 * kernels give bit-identical results.
 */
export function matvecJsKernel(args: MatmulArgs, colStart: number, colEnd: number): void {
  for (let bi = 0; bi < args.batch; bi++) {
    if (!args.bHalf) {
      matvecEntry(args, bi, args.b, args.bOff[bi]!, args.bNStride, args.bKStride, colStart, colEnd);
      continue;
    }
    // 16-bit W: widen four rows at a time, then the same loop on them (rows j0.. at scratch offset 0).
    scratch(args.k);
    for (let j0 = colStart; j0 < colEnd; j0 += 4) {
      const cnt = Math.min(4, colEnd - j0);
      for (let j = 0; j < cnt; j++) {
        const dst = wRows.subarray(j * args.k, (j + 1) * args.k);
        widenRowB(args, bi, j0 + j, dst);
      }
      matvecEntry(args, bi, wRows, -j0 * args.k, args.k, 1, j0, j0 + cnt);
    }
  }
}

/** Columns [colStart, colEnd) of batch entry `bi`'s rows, W column j at b[bo + j*bns + kk*bks]. */
function matvecEntry(
  args: MatmulArgs,
  bi: number,
  b: Float32Array,
  bo: number,
  bns: number,
  bks: number,
  colStart: number,
  colEnd: number,
): void {
  const { n, k, m, a, c, bias } = args;
  const ars = args.aRowStride;
  const aks = args.aKStride;
  const hasBias = bias.length > 0;
  const ao = args.aOff[bi]!;
  for (let i = 0; i < m; i++) {
    const xa = ao + i * ars;
    const o = (bi * m + i) * n;
    let j = colStart;
    // Four columns at a time: four independent chains (each still summed over k in order).
    for (; j + 4 <= colEnd; j += 4) {
      const w0 = bo + j * bns;
      const w1 = w0 + bns;
      const w2 = w1 + bns;
      const w3 = w2 + bns;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let kk = 0; kk < k; kk++) {
        const x = a[xa + kk * aks]!;
        const q = kk * bks;
        s0 += x * b[w0 + q]!;
        s1 += x * b[w1 + q]!;
        s2 += x * b[w2 + q]!;
        s3 += x * b[w3 + q]!;
      }
      const sums = tileBuf;
      sums[0] = s0;
      sums[1] = s1;
      sums[2] = s2;
      sums[3] = s3;
      for (let t = 0; t < 4; t++) {
        const v = Math.fround(sums[t]!);
        c[o + j + t] = hasBias ? v + bias[args.biasOff + (j + t) * args.biasStride]! : v;
      }
    }
    for (; j < colEnd; j++) {
      const wb = bo + j * bns;
      let s = 0;
      for (let kk = 0; kk < k; kk++) s += a[xa + kk * aks]! * b[wb + kk * bks]!;
      const v = Math.fround(s);
      c[o + j] = hasBias ? v + bias[args.biasOff + j * args.biasStride]! : v;
    }
  }
}
