import {
  allocF32,
  allocF64,
  copyInto,
  linalgF32Available,
  quickselect,
  SweepWorkspace,
  subtractProduct,
  sweepBlock,
  Tensor,
} from '@stade/tensor';
import { PruneError } from './errors.js';
import { allocMask, checkPatternFits, type Pattern, parsePattern, resolveSparsity } from './mask.js';
import { upperCholeskyOfInverse, upperCholeskyOfInverseF32 } from './numeric.js';

export interface SparseGptOptions {
  sparsity?: number;
  pattern?: Pattern | string;
  /** Columns per lazy-update block (default 128). */
  blocksize?: number;
  /** Dampening as a fraction of mean(diag(H)) (default 0.01). */
  percdamp?: number;
  /** false = `sparsegpt-noupdate`: the same selection rule without the OBS weight update. */
  update?: boolean;
  /**
   * 'float32' (default where WebAssembly SIMD is available): Cholesky, inverse and sweep in float32 SIMD on the
   * pool, as the reference implementation runs them. 'float64': the exact float64 path (SPEC 7's reference).
   */
  precision?: 'float32' | 'float64';
  layerName?: string;
}

export interface SparseGptResult {
  weight: Tensor; // [out, in]
  mask: Uint8Array; // [out * in], 1 = pruned
}

/**
 * SparseGPT (SPEC 7) for one linear layer. The Hessian's dead columns, dampening and the selection scores are
 * float64; the factorisation and the sweep run in float32 SIMD (or all in float64 with precision 'float64'). `w` is [out, in], `hessian` the row-major [in, in]
 * H = (2/S) sum X^T X. Unstructured: per block, prune where W^2 / diag(Hinv)^2 <= its value at rank
 * floor(numel * sparsity). N:M: at every M-th column, the N lowest per row. Sparsity 0 returns the weight unchanged.
 */
export function sparsegpt(w: Tensor, hessian: Float64Array, opts: SparseGptOptions): SparseGptResult {
  const name = opts.layerName;
  const at = name ? ` (layer ${name})` : '';
  if (w.ndim !== 2) throw new PruneError(`sparsegpt: weight must be 2-D [out, in], got [${w.shape.join(', ')}]${at}`);
  const rows = w.shape[0]!;
  const cols = w.shape[1]!;
  if (hessian.length !== cols * cols)
    throw new PruneError(`sparsegpt: Hessian has ${hessian.length} entries, need ${cols}x${cols}${at}`);
  const pattern = parsePattern(opts.pattern, name);
  const sparsity = resolveSparsity(pattern, opts.sparsity, name);
  checkPatternFits(pattern, cols, name);
  const blocksize = opts.blocksize ?? 128;
  if (!Number.isInteger(blocksize) || blocksize < 1)
    throw new PruneError(`sparsegpt: invalid blocksize ${blocksize}${at}`);
  const percdamp = opts.percdamp ?? 0.01;
  if (!(percdamp >= 0)) throw new PruneError(`sparsegpt: invalid percdamp ${percdamp}${at}`);
  const update = opts.update ?? true;
  const mask = allocMask(rows * cols); // lent by the current owner, like W
  if (sparsity === 0) return { weight: w.clone(), mask };

  const f32 = (opts.precision ?? 'float32') === 'float32' && linalgF32Available();
  const W = f32 ? allocF32(rows * cols) : allocF64(rows * cols); // [rows, cols], shared: the pool updates it in place
  if (W instanceof Float32Array) copyInto(w, W);
  else W.set(w.values());
  // The diagonal with dead columns set to 1 and the dampening added (float64); the rest of H is read as given.
  const diag = new Float64Array(cols);
  let diagSum = 0;
  for (let j = 0; j < cols; j++) {
    let d = hessian[j * cols + j]!;
    if (d === 0) {
      d = 1;
      for (let r = 0; r < rows; r++) W[r * cols + j] = 0;
    }
    diag[j] = d;
    diagSum += d;
  }
  const damp = (percdamp * diagSum) / cols;
  for (let j = 0; j < cols; j++) diag[j]! += damp;
  const what = `the Hessian${name ? ` of ${name}` : ''}`;
  const params = { rows, cols, blocksize, sparsity, pattern, update, mask };
  if (W instanceof Float32Array) {
    sweepF32(W, upperCholeskyOfInverseF32(hessian, cols, diag, what), params);
    return { weight: new Tensor(W, [rows, cols]), mask };
  }
  const H = hessian.slice();
  for (let j = 0; j < cols; j++) H[j * cols + j] = diag[j]!;
  const Hinv = upperCholeskyOfInverse(H, cols, what); // [cols, cols] upper

  const nm = pattern === 'unstructured' ? null : pattern;
  const W1 = allocF64(rows * blocksize);
  const Err = allocF64(rows * blocksize);
  const m1 = allocMask(rows * blocksize);
  const tmp = allocF64(rows * blocksize);
  const grp = new Float64Array(nm ? nm.m : 1);
  for (let i1 = 0; i1 < cols; i1 += blocksize) {
    const i2 = Math.min(i1 + blocksize, cols);
    const count = i2 - i1;
    // W1 = W[:, i1:i2], row-major [rows, count]
    for (let r = 0; r < rows; r++) for (let c = 0; c < count; c++) W1[r * count + c] = W[r * cols + i1 + c]!;
    m1.fill(0, 0, rows * count);
    Err.fill(0, 0, rows * count);
    const dg = (c: number): number => Hinv[(i1 + c) * cols + i1 + c]!;
    if (!nm) {
      const len = rows * count;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < count; c++) {
          const d = dg(c);
          const x = W1[r * count + c]!;
          tmp[r * count + c] = (x * x) / (d * d);
        }
      }
      const sorted = tmp.slice(0, len);
      const thresh = quickselect(sorted, len, Math.floor(len * sparsity));
      for (let k = 0; k < len; k++) if (tmp[k]! <= thresh) m1[k] = 1;
    }
    for (let c = 0; c < count; c++) {
      if (nm && c % nm.m === 0) selectNM(W1, m1, rows, count, c, nm, dg, grp);
      const d = dg(c);
      for (let r = 0; r < rows; r++) {
        const o = r * count;
        if (!m1[o + c]) continue;
        const x = W1[o + c]!;
        W1[o + c] = 0; // q
        if (!update || x === 0) continue;
        const e = x / d;
        Err[o + c] = e;
        const hr = (i1 + c) * cols + i1;
        for (let k = c + 1; k < count; k++) W1[o + k]! -= e * Hinv[hr + k]!;
      }
    }
    for (let r = 0; r < rows; r++) {
      const o = r * count;
      const wr = r * cols;
      for (let c = 0; c < count; c++) {
        W[wr + i1 + c] = W1[o + c]!;
        if (m1[o + c]) mask[wr + i1 + c] = 1;
      }
    }
    if (!update) continue;
    // W[:, i2:] -= Err1 Hinv[i1:i2, i2:]: a rank-`count` update split over rows of W on the pool.
    subtractProduct(
      { c: W, ldc: cols, a: Err, k: count, b: Hinv, ldb: cols, bRow0: i1, colStart: i2, colEnd: cols },
      rows,
    );
  }
  const out = Tensor.zeros([rows, cols]);
  for (let k = 0; k < W.length; k++) out.data[k] = W[k]!;
  return { weight: out, mask };
}

interface SweepParams {
  rows: number;
  cols: number;
  blocksize: number;
  sparsity: number;
  pattern: Pattern;
  update: boolean;
  mask: Uint8Array;
}

/** The float32 column sweep (tensor's sweepBlock on the pool); the unstructured threshold is chosen in float64. */
function sweepF32(W: Float32Array, U: Float32Array, p: SweepParams): void {
  const { rows, cols, blocksize, sparsity, pattern } = p;
  const nm = pattern === 'unstructured' ? null : pattern;
  const ws = new SweepWorkspace(cols, blocksize);
  const shared = allocMask(rows * cols);
  const tmp = nm ? null : allocF64(rows * Math.min(blocksize, cols));
  const dd = new Float64Array(Math.min(blocksize, cols));
  for (let i1 = 0; i1 < cols; i1 += blocksize) {
    const count = Math.min(blocksize, cols - i1);
    let thresh = 0;
    if (tmp) {
      const len = rows * count;
      for (let c = 0; c < count; c++) {
        const d = U[(i1 + c) * cols + i1 + c]!;
        dd[c] = d * d;
      }
      for (let r = 0; r < rows; r++) {
        const o = r * cols + i1;
        const t = r * count;
        for (let c = 0; c < count; c++) {
          const x = W[o + c]!;
          tmp[t + c] = (x * x) / dd[c]!;
        }
      }
      thresh = quickselect(tmp, len, Math.floor(len * sparsity));
    }
    sweepBlock(W, rows, U, shared, i1, count, { thresh, n: nm?.n ?? 0, m: nm?.m ?? 0, update: p.update }, ws);
  }
  p.mask.set(shared);
}

/** Marks, in each row, the N lowest of W1[:, c:c+M]^2 / diag^2 (ties to the lower column). */
function selectNM(
  W1: Float64Array,
  m1: Uint8Array,
  rows: number,
  count: number,
  c: number,
  nm: { n: number; m: number },
  dg: (c: number) => number,
  grp: Float64Array,
): void {
  const m = Math.min(nm.m, count - c);
  for (let r = 0; r < rows; r++) {
    const o = r * count + c;
    for (let k = 0; k < m; k++) {
      const d = dg(c + k);
      grp[k] = (W1[o + k]! * W1[o + k]!) / (d * d);
    }
    for (let t = 0; t < nm.n; t++) {
      let best = -1;
      for (let k = 0; k < m; k++) if (!m1[o + k] && (best < 0 || grp[k]! < grp[best]!)) best = k;
      if (best >= 0) m1[o + best] = 1;
    }
  }
}
