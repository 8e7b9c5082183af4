/**
 * Float32 pool kernels of the blocked Cholesky factorisation and lower-triangular inverse (ops/linalg_f32.ts),
 * on the linalg WebAssembly module's `gemm`. Every output element is one fixed sequence of float32 chains
 * (per block step, over k in order), independent of the row split: bit-identical for any thread count.
 */
import { linalgWasm } from '../wasm/linalg_runtime.js';

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** Rows per group copied into the module. */
const SUB = 64;

export type CholPanelArgs = {
  readonly a: Float32Array; // [n, n] lower triangle being factorised in place
  readonly n: number;
  readonly k0: number; // first column of the panel
  readonly kb: number; // panel width
  readonly ninv: Float32Array; // -L11^-T as 8-column panels [kbP / 8][kb][8]
  readonly ap: Float32Array; // out: L21 as 4-row panels [rowsP / 4][kb][4] (rows from k0 + kb)
  readonly bp: Float32Array; // out: L21^T as 8-column panels [rowsP / 8][kb][8]
};

/**
 * Units [u0, u1) of 8 rows below the panel: L21 = A21 L11^-T, written back into `a` and packed into `ap` and
 * `bp` for the trailing update (rows past n are packed as zeros).
 */
export function cholPanelUnits(args: CholPanelArgs, u0: number, u1: number): void {
  const { a, n, k0, kb, ninv, ap, bp } = args;
  const k1 = k0 + kb;
  const kbP = roundUp(kb, 8);
  const L = linalgWasm();
  const NI = 0;
  const AP = NI + kbP * kb * 4;
  const C = AP + SUB * kb * 4;
  L.ensure(C + SUB * kbP * 4);
  const mem = L.f32();
  mem.set(ninv.subarray(0, kbP * kb), NI / 4);
  const rEnd = k1 + 8 * u1;
  for (let i0 = k1 + 8 * u0; i0 < rEnd; i0 += SUB) {
    const hAll = Math.min(SUB, rEnd - i0); // a multiple of 8, may run past n
    const h = Math.max(0, Math.min(hAll, n - i0));
    for (let r = 0; r < hAll; r++) {
      const src = (i0 + r) * n + k0;
      const dst = AP / 4 + (r >> 2) * kb * 4 + (r & 3);
      if (r < h) for (let t = 0; t < kb; t++) mem[dst + t * 4] = a[src + t]!;
      else for (let t = 0; t < kb; t++) mem[dst + t * 4] = 0;
    }
    L.gemm(AP, kb * 16, NI, kb * 32, C, kbP * 4, hAll / 4, kbP / 8, kb, 0);
    for (let r = 0; r < hAll; r++) {
      const q = i0 - k1 + r;
      const c = C / 4 + r * kbP;
      const pa = (q >> 2) * kb * 4 + (q & 3);
      const pb = (q >> 3) * kb * 8 + (q & 7);
      if (r < h) {
        a.set(mem.subarray(c, c + kb), (i0 + r) * n + k0);
        for (let t = 0; t < kb; t++) {
          const v = mem[c + t]!;
          ap[pa + t * 4] = v;
          bp[pb + t * 8] = v;
        }
      } else {
        for (let t = 0; t < kb; t++) {
          ap[pa + t * 4] = 0;
          bp[pb + t * 8] = 0;
        }
      }
    }
  }
}

export type CholTrailArgs = {
  readonly a: Float32Array; // [n, n]
  readonly n: number;
  readonly k0: number;
  readonly kb: number;
  readonly ap: Float32Array; // from cholPanelUnits
  readonly bp: Float32Array;
  readonly groups: number; // ceil((n - k0 - kb) / 8)
};

/** A22[i, k1:i+1] -= L21[i] L21[k1:i+1]^T for the rows of 8-row groups [g0, g1). */
function trailGroups(args: CholTrailArgs, g0: number, g1: number): void {
  const { a, n, k0, kb, ap, bp } = args;
  const k1 = k0 + kb;
  const L = linalgWasm();
  const rEnd = Math.min(n, k1 + 8 * g1);
  const maxCols = roundUp(rEnd - k1, 8);
  const AP = 0;
  const BP = AP + SUB * kb * 4;
  const C = BP + maxCols * kb * 4;
  L.ensure(C + SUB * maxCols * 4);
  const mem = L.f32();
  mem.set(bp.subarray(0, maxCols * kb), BP / 4);
  for (let i0 = k1 + 8 * g0; i0 < rEnd; i0 += SUB) {
    const i1 = Math.min(i0 + SUB, rEnd);
    const h = i1 - i0;
    const hP = roundUp(h, 4);
    const ncols = i1 - k1;
    const ncP = roundUp(ncols, 8);
    const q0 = i0 - k1; // a multiple of 8
    mem.set(ap.subarray((q0 / 4) * kb * 4, (q0 / 4 + hP / 4) * kb * 4), AP / 4);
    for (let r = 0; r < hP; r++) {
      const d = C / 4 + r * ncP;
      if (r < h) {
        const s = (i0 + r) * n + k1;
        mem.set(a.subarray(s, s + ncols), d);
        mem.fill(0, d + ncols, d + ncP);
      } else mem.fill(0, d, d + ncP);
    }
    L.gemm(AP, kb * 16, BP, kb * 32, C, ncP * 4, hP / 4, ncP / 8, kb, 1);
    for (let r = 0; r < h; r++) {
      const d = C / 4 + r * ncP;
      a.set(mem.subarray(d, d + q0 + r + 1), (i0 + r) * n + k1);
    }
  }
}

/**
 * Pool kernel of the trailing update over unit pairs: unit u owns 8-row groups u and groups - 1 - u (a cheap
 * and a dear one), so an even split of units balances the triangle's work.
 */
export function cholTrailPairs(args: CholTrailArgs, u0: number, u1: number): void {
  const G = args.groups;
  trailGroups(args, u0, u1);
  const hi0 = Math.max(G - u1, u1);
  if (G - u0 > hi0) trailGroups(args, hi0, G - u0);
}

export type TriInvArgs = {
  readonly lp: Float32Array; // L as 8-column panels [nP / 8][n][8], zero above the diagonal (nP = n rounded up to 64)
  readonly linv: Float32Array; // per 64-block J: -(L_JJ^-1) as 8-column panels [8][64][8]
  readonly u: Float32Array; // [n, n] out (zero on entry): U = P L^-1 P, i.e. U[n-1-i, n-1-j] = (L^-1)[i, j]
  readonly n: number;
  readonly blocks: number; // ceil(n / 64)
};

const IB = 64;
/** k chunk of the inverse's products. */
const KC = 256;

/** Rows [64 I, 64 I + 64) of M = L^-1 by block back-substitution of X L = E, written reversed into `u`. */
function invBlock(args: TriInvArgs, I: number): void {
  const { lp, linv, u, n } = args;
  const L = linalgWasm();
  const i0 = I * IB;
  const i1 = Math.min(i0 + IB, n);
  const h = i1 - i0;
  const hP = roundUp(h, 4);
  const ldx = roundUp(i1, IB) * 16; // bytes between X's 4-row panels ([cols][4])
  const X = 0;
  const C = X + (IB / 4) * ldx;
  const T = C + IB * IB * 4;
  const LI = T + IB * IB * 4;
  const BL = LI + IB * IB * 4;
  L.ensure(BL + 8 * n * 32);
  const mem = L.f32();
  for (let J = I; J >= 0; J--) {
    const J0 = J * IB;
    const J1 = Math.min(J0 + IB, n);
    mem.fill(0, C / 4, C / 4 + IB * IB);
    if (J === I) for (let r = 0; r < h; r++) mem[C / 4 + r * IB + r] = 1;
    const k = i1 - J1;
    if (k > 0) {
      for (let q = 0; q < 8; q++) {
        const src = (J * 8 + q) * n * 8 + J1 * 8;
        mem.set(lp.subarray(src, src + k * 8), BL / 4 + q * k * 8);
      }
      // k in chunks of KC so that the A and B panels of a chunk stay in L2 (fixed chunks: same bits any split).
      for (let kk = 0; kk < k; kk += KC)
        L.gemm(X + (J1 + kk) * 16, ldx, BL + kk * 32, k * 32, C, IB * 4, hP / 4, 8, Math.min(KC, k - kk), 1);
    }
    for (let r = 0; r < hP; r++) {
      const t0 = T / 4 + (r >> 2) * IB * 4 + (r & 3);
      for (let c = 0; c < IB; c++) mem[t0 + c * 4] = mem[C / 4 + r * IB + c]!;
    }
    mem.set(linv.subarray(J * IB * IB, (J + 1) * IB * IB), LI / 4);
    L.gemm(T, IB * 16, LI, IB * 32, C, IB * 4, hP / 4, 8, IB, 0);
    for (let r = 0; r < hP; r++) {
      const x0 = X / 4 + (r >> 2) * (ldx / 4) + (r & 3);
      for (let c = 0; c < J1 - J0; c++) mem[x0 + (J0 + c) * 4] = mem[C / 4 + r * IB + c]!;
    }
  }
  for (let r = 0; r < h; r++) {
    const i = i0 + r;
    const x0 = X / 4 + (r >> 2) * (ldx / 4) + (r & 3);
    const o = (n - 1 - i) * n + (n - 1);
    for (let j = 0; j <= i; j++) u[o - j] = mem[x0 + j * 4]!;
  }
}

/** Pool kernel over pairs of 64-row blocks (u and blocks - 1 - u), like cholTrailPairs. */
export function triInvPairs(args: TriInvArgs, u0: number, u1: number): void {
  const R = args.blocks;
  for (let I = u0; I < u1; I++) invBlock(args, I);
  for (let I = Math.max(R - u1, u1); I < R - u0; I++) invBlock(args, I);
}

export type PackColsArgs = {
  readonly l: Float32Array; // [n, n] lower triangle read
  readonly lp: Float32Array; // out: [nP / 8][n][8]
  readonly n: number;
};

/**
 * Panels [p0, p1) of 8 columns of the lower triangle of `l` (zeros above the diagonal and past n). `lp` must be
 * zero on entry: rows above a panel's first column are not written.
 */
export function packLowerCols(args: PackColsArgs, p0: number, p1: number): void {
  const { l, lp, n } = args;
  for (let p = p0; p < p1; p++) {
    const c0 = p * 8;
    const base = p * n * 8;
    // The corner rows (c0 .. c0 + 7) and panels past n hold zeros above the diagonal or beyond column n.
    const full = Math.min(n, c0 + 7);
    for (let t = c0; t < full; t++) {
      const o = base + t * 8;
      for (let j = 0; j < 8 && c0 + j <= t; j++) lp[o + j] = l[t * n + c0 + j]!;
    }
    if (c0 + 8 > n) {
      for (let t = full; t < n; t++) for (let j = 0; c0 + j < n; j++) lp[base + t * 8 + j] = l[t * n + c0 + j]!;
      continue;
    }
    for (let t = full; t < n; t++) {
      const o = base + t * 8;
      const s = t * n + c0;
      lp[o] = l[s]!;
      lp[o + 1] = l[s + 1]!;
      lp[o + 2] = l[s + 2]!;
      lp[o + 3] = l[s + 3]!;
      lp[o + 4] = l[s + 4]!;
      lp[o + 5] = l[s + 5]!;
      lp[o + 6] = l[s + 6]!;
      lp[o + 7] = l[s + 7]!;
    }
  }
}
