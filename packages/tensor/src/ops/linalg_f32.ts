/**
 * Float32 dense linear algebra on the worker pool with WebAssembly SIMD (kernels/linalg_chol.ts,
 * kernels/linalg_sweep.ts): what SparseGPT needs at real widths. The O(n^3) work runs in float32, as the
 * reference implementation does; float64 is used for the small diagonal blocks (their Cholesky factor and
 * inverse, n/64 blocks of 64 to 128 columns, negligible cost), which keeps every pivot and every block
 * inverse as exact as the float64 path. Results are bit-identical for any thread count.
 */
import { TensorError } from '../errors.js';
import { choleskyLowerInPlace, lowerInverseCols } from '../kernels/linalg.js';
import type { SweepArgs } from '../kernels/linalg_sweep.js';
import { parallelFor } from '../parallel/pool.js';
import { allocF32 } from '../storage.js';
import { simdSupported } from '../wasm/runtime.js';

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** Panel width of the blocked Cholesky. */
const CB = 128;
/** Block size of the triangular inverse (fixed by its kernel). */
const IB = 64;

/** True when the float32 SIMD linear algebra can run here (WebAssembly SIMD available). */
export function linalgF32Available(): boolean {
  return simdSupported();
}

function need(op: string): void {
  if (!simdSupported()) throw new TensorError(`${op}: WebAssembly SIMD is not available in this runtime`);
}

/** The lower triangle of the square block [k0, k0 + kb) of `a` [n, n] as float64. */
function diagBlock(a: Float32Array, n: number, k0: number, kb: number): Float64Array {
  const l = new Float64Array(kb * kb);
  for (let i = 0; i < kb; i++) for (let j = 0; j <= i; j++) l[i * kb + j] = a[(k0 + i) * n + k0 + j]!;
  return l;
}

/** The inverse of a float64 lower-triangular block. */
function invLower(l: Float64Array, kb: number): Float64Array {
  const m = new Float64Array(kb * kb);
  lowerInverseCols({ l, m, n: kb }, 0, kb);
  return m;
}

/**
 * In-place lower Cholesky factor of the symmetric positive definite float32 `a` [n, n] (lower triangle read and
 * overwritten; the upper triangle is left as it was). Right-looking, panels of 128 columns: the diagonal block
 * in float64, the panel below as one product with its inverse, the trailing triangle as float32 products on the
 * pool. Returns -1 on success, else the index of the first pivot that is not positive (or not finite).
 * `a` should come from allocF32 (shared), or the pool copies it per call.
 */
export function choleskyF32InPlace(a: Float32Array, n: number): number {
  need('choleskyF32InPlace');
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n)
    throw new TensorError(`choleskyF32InPlace: matrix holds ${a.length} values, expected ${n}x${n}`);
  const rowsP = roundUp(n, 8);
  const ap = allocF32(rowsP * CB);
  const bp = allocF32(rowsP * CB);
  const ninv = allocF32(CB * CB);
  for (let k0 = 0; k0 < n; k0 += CB) {
    const kb = Math.min(CB, n - k0);
    const k1 = k0 + kb;
    const l11 = diagBlock(a, n, k0, kb);
    const bad = choleskyLowerInPlace(l11, kb);
    if (bad >= 0) return k0 + bad;
    for (let i = 0; i < kb; i++) for (let j = 0; j <= i; j++) a[(k0 + i) * n + k0 + j] = l11[i * kb + j]!;
    if (k1 === n) break;
    const m = invLower(l11, kb);
    ninv.fill(0);
    for (let j = 0; j < kb; j++)
      for (let t = 0; t <= j; t++) ninv[(j >> 3) * kb * 8 + t * 8 + (j & 7)] = -m[j * kb + t]!;
    const groups = Math.ceil((n - k1) / 8);
    parallelFor('linalg.cholPanel', { a, n, k0, kb, ninv, ap, bp }, groups, { costPerRow: 8 * kb * kb * 0.15 });
    const cost = (4 * (n - k1) * kb + 64 * kb) * 0.15; // two 8-row groups per unit, average width (n - k1) / 2
    parallelFor('linalg.cholTrail', { a, n, k0, kb, ap, bp, groups }, Math.ceil(groups / 2), { costPerRow: cost });
  }
  return -1;
}

/**
 * U = P L^-1 P for the lower-triangular float32 `l` [n, n] (P the reversal permutation): the upper factor that
 * SparseGPT needs (see prune's numeric.ts). Block back-substitution by 64-row blocks on the pool, float32
 * products, float64 inverses of the 64x64 diagonal blocks. Throws on a zero or non-finite diagonal. The result
 * goes to `out` when given (it may be `l` itself: saves an n x n allocation), else to a new shared array.
 */
export function reversedLowerInverseF32(l: Float32Array, n: number, out?: Float32Array): Float32Array {
  need('reversedLowerInverseF32');
  if (!Number.isInteger(n) || n < 0 || l.length !== n * n)
    throw new TensorError(`reversedLowerInverseF32: matrix holds ${l.length} values, expected ${n}x${n}`);
  for (let i = 0; i < n; i++) {
    const d = l[i * n + i]!;
    if (d === 0 || !Number.isFinite(d))
      throw new TensorError(`reversedLowerInverseF32: matrix is singular (diagonal ${i} is ${d})`);
  }
  const nP = roundUp(n, IB);
  const blocks = nP / IB;
  const lp = allocF32((nP / 8) * n * 8);
  parallelFor('linalg.packCols', { l, lp, n }, nP / 8, { costPerRow: n * 8 * 2 });
  const linv = allocF32(blocks * IB * IB);
  for (let J = 0; J < blocks; J++) {
    const J0 = J * IB;
    const kb = Math.min(IB, n - J0);
    const m = invLower(diagBlock(l, n, J0, kb), kb);
    const o = J * IB * IB;
    for (let t = 0; t < kb; t++)
      for (let j = 0; j <= t; j++) linv[o + (j >> 3) * IB * 8 + t * 8 + (j & 7)] = -m[t * kb + j]!;
  }
  if (out && out.length !== n * n) throw new TensorError(`reversedLowerInverseF32: out holds ${out.length} values`);
  const u = out ?? allocF32(n * n);
  if (out) out.fill(0);
  // Block I costs about (I + 1) * 64^3 multiply-adds; a unit holds a cheap and a dear block.
  parallelFor('linalg.triInv', { lp, linv, u, n, blocks }, Math.ceil(blocks / 2), {
    costPerRow: (blocks + 1) * IB * IB * IB * 0.1,
  });
  return u;
}

/** Reusable buffers for `sweepBlock` over one layer. */
export class SweepWorkspace {
  readonly ub: Float32Array;
  readonly d: Float32Array;
  readonly bp: Float32Array;
  constructor(
    readonly cols: number,
    readonly blocksize: number,
  ) {
    const bs = roundUp(Math.min(blocksize, cols), 4);
    this.ub = allocF32(bs * bs);
    this.d = allocF32(bs);
    this.bp = allocF32(roundUp(cols, 8) * bs);
  }
}

export interface SweepBlockOptions {
  /** Unstructured rule: prune where w^2 / d^2 <= thresh (computed in float64). */
  thresh: number;
  /** N:M rule instead (m = 0: unstructured). */
  n: number;
  m: number;
  update: boolean;
}

/**
 * One block of SparseGPT's masked column sweep (SPEC 7) on float32 `w` [rows, cols] in place, with the
 * upper-triangular float32 `u` [cols, cols]: for columns [i1, i1 + count), pick the pruned entries (rule in
 * `opts`), zero them, spread each one's error w / u[c, c] along the row's later columns of the block, then
 * update the trailing columns with one rank-`count` product. Marks pruned entries in `mask` [rows * cols]
 * (which should be shared memory: a Uint8Array over allocF32's buffer). Rows run in parallel.
 */
export function sweepBlock(
  w: Float32Array,
  rows: number,
  u: Float32Array,
  mask: Uint8Array,
  i1: number,
  count: number,
  opts: SweepBlockOptions,
  ws: SweepWorkspace,
): void {
  need('sweepBlock');
  const cols = ws.cols;
  if (w.length !== rows * cols || u.length !== cols * cols || mask.length !== rows * cols)
    throw new TensorError(`sweepBlock: w [${rows}, ${cols}], u or mask have the wrong size`);
  if (!(count >= 1 && count <= ws.blocksize && i1 >= 0 && i1 + count <= cols))
    throw new TensorError(
      `sweepBlock: block ${i1}..${i1 + count} does not fit ${cols} columns / blocksize ${ws.blocksize}`,
    );
  const countP = roundUp(count, 4);
  const i2 = i1 + count;
  const trail = cols - i2;
  const { ub, d, bp } = ws;
  ub.fill(0, 0, countP * countP);
  for (let c = 0; c < count; c++) {
    d[c] = u[(i1 + c) * cols + i1 + c]!;
    const src = (i1 + c) * cols + i1;
    for (let k = c + 1; k < count; k++) ub[c * countP + k] = u[src + k]!;
  }
  if (opts.update && trail > 0) {
    const trailP = roundUp(trail, 8);
    for (let p = 0; p < trailP / 8; p++) {
      const o = p * count * 8;
      const j0 = i2 + p * 8;
      const w8 = Math.min(8, cols - j0);
      for (let t = 0; t < count; t++) {
        const s = (i1 + t) * cols + j0;
        const dst = o + t * 8;
        for (let j = 0; j < w8; j++) bp[dst + j] = u[s + j]!;
        for (let j = w8; j < 8; j++) bp[dst + j] = 0;
      }
    }
  }
  const args: SweepArgs = {
    w,
    cols,
    i1,
    count,
    ub,
    d,
    bp,
    mask,
    thresh: opts.thresh,
    nmN: opts.m > 0 ? opts.n : 0,
    nmM: Math.max(opts.m, 0),
    update: opts.update ? 1 : 0,
  };
  const cost = 0.15 * (count * count * 0.25 + count * trail) + 0.5 * (cols - i1);
  parallelFor('linalg.sweep', args, rows, { costPerRow: cost });
}
