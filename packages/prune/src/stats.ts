import { accumulateXtX, allocF32, allocF64, ColumnStats, linearInto, Tensor } from '@stade/tensor';
import { PruneError } from './errors.js';

/** The statistics every score needs, read-only. All arrays are float64 and indexed by input column. */
export interface ScoreStats {
  readonly cols: number;
  /** Calibration tokens N. */
  readonly tokens: number;
  /** Calibration sequences S. */
  readonly sequences: number;
  mean(): Float64Array;
  /** Unbiased variance per column. */
  variance(): Float64Array;
  /** Wanda's scaler: sumsq_j / S. */
  scaler(): Float64Array;
}

/** Layers at least this wide take the Hessian's per-window products from the float32 SIMD matmul. */
export const HESSIAN_GEMM_MIN_COLS = 256;
/** Rows of H per matmul call: the product covers the upper triangle and 1/(2 * blocks) of the lower. */
const HB = 256;

/**
 * Per-linear statistics of its inputs (SPEC 3), accumulated in float64: per-column count, sum, sum of squares,
 * mean and M2 (tensor's ColumnStats, Chan's stable merge), the sequence count and, on request, the SparseGPT
 * Hessian. Where float64 is used for the Hessian and why: each window's X^T X of a layer with at least
 * HESSIAN_GEMM_MIN_COLS inputs comes from the float32 SIMD matmul (as the reference implementation accumulates
 * its Hessian in float32; this is the O(tokens * cols^2) part), and the windows are summed in float64 so that
 * the sum over many windows loses nothing more. Narrower layers use tensor's exact float64 accumulateXtX, whose
 * cost there is negligible; that keeps the small golden fixtures bit-for-bit on the float64 reference.
 */
export class LayerStats implements ScoreStats {
  readonly cols: number;
  sequences = 0;
  private readonly cs: ColumnStats;
  /** Running sum_s X_s^T X_s (row-major [cols, cols]; the upper triangle is kept, mirrored on read), or null. */
  private readonly xtx: Float64Array | null;
  /** Scratch of the matmul path: X^T [cols, tokens] and one block row of products [HB, cols]. */
  private xt: Float32Array | null = null;
  private prod: Float32Array | null = null;
  /** True once finalHessian() has turned xtx into H in place. */
  private final = false;

  constructor(cols: number, opts: { hessian?: boolean } = {}) {
    if (!Number.isInteger(cols) || cols <= 0) throw new PruneError(`LayerStats: invalid column count ${cols}`);
    this.cols = cols;
    this.cs = new ColumnStats(cols);
    this.xtx = opts.hessian ? allocF64(cols * cols) : null;
  }

  get hasHessian(): boolean {
    return this.xtx !== null;
  }

  /** Calibration tokens N seen so far. */
  get tokens(): number {
    return this.cs.count;
  }

  /** Per-column sum (float64, live view). */
  get sum(): Float64Array {
    return this.cs.sum;
  }

  /** Per-column sum of squares (float64, live view). */
  get sumsq(): Float64Array {
    return this.cs.sumsq;
  }

  /** Adds one sequence `x` of shape [tokens, cols] (any strides). */
  update(x: Tensor, sequences = 1): void {
    this.checkOpen('update');
    if (x.ndim !== 2 || x.shape[1] !== this.cols) {
      throw new PruneError(`LayerStats.update: expected [tokens, ${this.cols}], got [${x.shape.join(', ')}]`);
    }
    this.cs.update(x);
    this.sequences += sequences;
    if (this.xtx) {
      if (this.cols >= HESSIAN_GEMM_MIN_COLS) this.addXtXGemm(x);
      else accumulateXtX(this.xtx, x);
    }
  }

  /** xtx[i, j] += (X^T X)[i, j] for j >= i, by block rows of the float32 matmul (X^T rows times X^T rows). */
  private addXtXGemm(x: Tensor): void {
    const h = this.xtx!;
    const n = this.cols;
    const t = x.shape[0]!;
    if (t === 0) return;
    if (!this.xt || this.xt.length < n * t) this.xt = allocF32(n * t);
    this.prod ??= allocF32(HB * n);
    const xt = this.xt;
    const v = x.contiguous ? x.data.subarray(x.offset, x.offset + t * n) : x.values();
    // X^T in 32x32 tiles (a plain column-wise write touches a new cache line per element).
    for (let r0 = 0; r0 < t; r0 += 32) {
      const r1 = Math.min(r0 + 32, t);
      for (let j0 = 0; j0 < n; j0 += 32) {
        const j1 = Math.min(j0 + 32, n);
        for (let j = j0; j < j1; j++) {
          const d = j * t;
          for (let r = r0; r < r1; r++) xt[d + r] = v[r * n + j]!;
        }
      }
    }
    const xtT = new Tensor(xt, [n, t]);
    for (let i0 = 0; i0 < n; i0 += HB) {
      const rows = Math.min(HB, n - i0);
      const width = n - i0;
      const out = new Tensor(this.prod, [rows, width]);
      linearInto(xtT.narrow(0, i0, rows), xtT.narrow(0, i0, width), null, out); // [rows, width]
      const p = this.prod;
      for (let r = 0; r < rows; r++) {
        const hr = (i0 + r) * n + i0;
        const pr = r * width;
        for (let c = r; c < width; c++) h[hr + c]! += p[pr + c]!;
      }
    }
  }

  /** Merges another collector's statistics into this one (Chan's parallel formula). */
  merge(o: LayerStats): void {
    this.checkOpen('merge');
    o.checkOpen('merge');
    if (o.cols !== this.cols) throw new PruneError(`LayerStats.merge: ${o.cols} columns vs ${this.cols}`);
    if (!!o.xtx !== !!this.xtx) throw new PruneError('LayerStats.merge: one side has a Hessian and the other not');
    this.cs.merge(o.cs);
    if (this.xtx && o.xtx) for (let k = 0; k < this.xtx.length; k++) this.xtx[k]! += o.xtx[k]!;
    this.sequences += o.sequences;
  }

  /** Per-column mean (zeros before any token). */
  mean(): Float64Array {
    return this.cs.count ? this.cs.mean() : new Float64Array(this.cols);
  }

  /** Unbiased variance M2 / (N - 1); zero when N < 2. */
  variance(): Float64Array {
    if (this.cs.count < 2) return new Float64Array(this.cols);
    return this.cs.variance(true).map((v) => Math.max(0, v));
  }

  scaler(): Float64Array {
    const out = new Float64Array(this.cols);
    if (this.sequences === 0) return out;
    const sq = this.cs.sumsq;
    for (let j = 0; j < this.cols; j++) out[j] = sq[j]! / this.sequences;
    return out;
  }

  private checkOpen(op: string): void {
    if (this.final)
      throw new PruneError(`LayerStats.${op}: the Hessian was finalised in place (finalHessian); no more statistics`);
  }

  /**
   * H as hessian() gives it, computed in place of the running sum (no n x n copy, no page faults: for a
   * 5632-wide layer that is 254 MB) and returned itself on every later call, so layers that share this collector
   * (q/k/v, gate/up) share one H. Read-only for callers. The collector is then final: update and merge throw.
   */
  finalHessian(): Float64Array {
    if (!this.xtx) throw new PruneError('LayerStats.finalHessian: this collector was created without a Hessian');
    if (!this.final) {
      this.scaledInto(this.xtx);
      this.final = true;
    }
    return this.xtx;
  }

  /** SparseGPT's H = (2 / S) * sum_s X_s^T X_s as a full symmetric row-major [cols, cols] float64 matrix. */
  hessian(): Float64Array {
    if (!this.xtx) throw new PruneError('LayerStats.hessian: this collector was created without a Hessian');
    if (this.final) return this.xtx.slice();
    return this.scaledInto(new Float64Array(this.cols * this.cols));
  }

  /** out = (2 / S) * the running sum, full symmetric; `out` may be the running sum itself. */
  private scaledInto(out: Float64Array): Float64Array {
    const s = this.sequences > 0 ? 2 / this.sequences : 0;
    const n = this.cols;
    const src = this.xtx!;
    if (n < HESSIAN_GEMM_MIN_COLS) {
      for (let k = 0; k < n * n; k++) out[k] = src[k]! * s;
      return out;
    }
    // Scale the upper triangle and mirror it, in 64x64 tiles so that the column-wise writes stay in cache. Only
    // upper entries are read, each before it is written, so this also works in place.
    for (let i0 = 0; i0 < n; i0 += 64) {
      const i1 = Math.min(i0 + 64, n);
      for (let j0 = i0; j0 < n; j0 += 64) {
        const j1 = Math.min(j0 + 64, n);
        for (let i = i0; i < i1; i++) {
          for (let j = Math.max(j0, i); j < j1; j++) {
            const v = src[i * n + j]! * s;
            out[i * n + j] = v;
            out[j * n + i] = v;
          }
        }
      }
    }
    return out;
  }
}

/** The activation tap signature of @stade/transformer's CausalLM.block. */
export type Tap = (name: string, x: Tensor) => void;

/**
 * Creates one LayerStats per linear layer from the model's tap. Layers that receive the very same input tensor
 * in the same call order (q/k/v, gate/up) share one LayerStats, so the input is processed once.
 */
export class StatsCollector {
  private readonly stats = new Map<string, LayerStats>();
  private readonly alias = new Map<string, string>();
  private lastName: string | null = null;
  private lastX: Tensor | null = null;
  private readonly wantHessian: (name: string) => boolean;

  constructor(opts: { hessian?: boolean | ((name: string) => boolean) } = {}) {
    const h = opts.hessian ?? false;
    this.wantHessian = typeof h === 'function' ? h : () => h;
  }

  /** Pass this to `model.block(i, h, { tap })`. */
  readonly tap: Tap = (name, x) => {
    const prev = this.lastName;
    const prevX = this.lastX;
    this.lastName = name;
    this.lastX = x;
    const target = this.alias.get(name);
    if (target !== undefined) {
      if (prev === target && prevX === x) return;
      // The sharing pattern broke: give this layer its own copy from now on.
      throw new PruneError(`StatsCollector: layer ${name} shared its input with ${target} before but not now`);
    }
    let s = this.stats.get(name);
    if (!s) {
      const rootPrev = prev !== null ? (this.alias.get(prev) ?? prev) : null;
      if (prev !== null && prevX === x && rootPrev !== null && this.wantHessian(name) === this.wantHessian(rootPrev)) {
        this.alias.set(name, prev);
        this.stats.set(name, this.stats.get(rootPrev)!);
        return;
      }
      s = new LayerStats(x.shape[1]!, { hessian: this.wantHessian(name) });
      this.stats.set(name, s);
    }
    s.update(x);
  };

  names(): string[] {
    return [...this.stats.keys()];
  }

  has(name: string): boolean {
    return this.stats.has(name);
  }

  get(name: string): LayerStats {
    const s = this.stats.get(name);
    if (!s) throw new PruneError(`StatsCollector: no statistics for layer ${name} (was the tap passed to the block?)`);
    return s;
  }
}
