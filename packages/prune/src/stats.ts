import type { Tensor } from '@stade/tensor';
import { PruneError } from './errors.js';
import { accumulateXtX } from './numeric.js';

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

/**
 * Per-linear statistics of its inputs (SPEC 3), accumulated in float64: per-column count, sum, sum of squares,
 * mean and M2 merged with Chan's formula (stable), the sequence count and, on request, the SparseGPT Hessian.
 */
export class LayerStats implements ScoreStats {
  readonly cols: number;
  tokens = 0;
  sequences = 0;
  readonly sum: Float64Array;
  readonly sumsq: Float64Array;
  private readonly mu: Float64Array;
  private readonly m2: Float64Array;
  /** Running sum_s X_s^T X_s (row-major [cols, cols], upper triangle filled), or null. */
  private readonly xtx: Float64Array | null;
  private readonly bm: Float64Array;

  constructor(cols: number, opts: { hessian?: boolean } = {}) {
    if (!Number.isInteger(cols) || cols <= 0) throw new PruneError(`LayerStats: invalid column count ${cols}`);
    this.cols = cols;
    this.sum = new Float64Array(cols);
    this.sumsq = new Float64Array(cols);
    this.mu = new Float64Array(cols);
    this.m2 = new Float64Array(cols);
    this.bm = new Float64Array(cols);
    this.xtx = opts.hessian ? new Float64Array(cols * cols) : null;
  }

  get hasHessian(): boolean {
    return this.xtx !== null;
  }

  /** Adds one sequence `x` of shape [tokens, cols] (any strides). */
  update(x: Tensor, sequences = 1): void {
    if (x.ndim !== 2 || x.shape[1] !== this.cols) {
      throw new PruneError(`LayerStats.update: expected [tokens, ${this.cols}], got [${x.shape.join(', ')}]`);
    }
    const rows = x.shape[0]!;
    if (rows === 0) return;
    const n = this.cols;
    const v = x.values(); // [rows, n] row-major
    const bm = this.bm;
    bm.fill(0);
    const sum = this.sum;
    const sumsq = this.sumsq;
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      for (let j = 0; j < n; j++) {
        const a = v[o + j]!;
        bm[j]! += a;
        sumsq[j]! += a * a;
      }
    }
    const na = this.tokens;
    const nb = rows;
    const nt = na + nb;
    const mu = this.mu;
    const m2 = this.m2;
    for (let j = 0; j < n; j++) {
      sum[j]! += bm[j]!;
      bm[j] = bm[j]! / nb;
    }
    // Second pass for the batch's M2 around its own mean, then Chan's merge.
    const bM2 = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      for (let j = 0; j < n; j++) {
        const d = v[o + j]! - bm[j]!;
        bM2[j]! += d * d;
      }
    }
    for (let j = 0; j < n; j++) {
      const delta = bm[j]! - mu[j]!;
      mu[j] = mu[j]! + (delta * nb) / nt;
      m2[j] = m2[j]! + bM2[j]! + (delta * delta * na * nb) / nt;
    }
    this.tokens = nt;
    this.sequences += sequences;
    if (this.xtx) accumulateXtX(this.xtx, v, rows, n);
  }

  /** Merges another collector's statistics into this one (Chan's parallel formula). */
  merge(o: LayerStats): void {
    if (o.cols !== this.cols) throw new PruneError(`LayerStats.merge: ${o.cols} columns vs ${this.cols}`);
    if (!!o.xtx !== !!this.xtx) throw new PruneError('LayerStats.merge: one side has a Hessian and the other not');
    const na = this.tokens;
    const nb = o.tokens;
    const nt = na + nb;
    if (nb === 0) return;
    for (let j = 0; j < this.cols; j++) {
      const delta = o.mu[j]! - this.mu[j]!;
      this.mu[j] = this.mu[j]! + (delta * nb) / nt;
      this.m2[j] = this.m2[j]! + o.m2[j]! + (delta * delta * na * nb) / nt;
      this.sum[j]! += o.sum[j]!;
      this.sumsq[j]! += o.sumsq[j]!;
    }
    if (this.xtx && o.xtx) for (let k = 0; k < this.xtx.length; k++) this.xtx[k]! += o.xtx[k]!;
    this.tokens = nt;
    this.sequences += o.sequences;
  }

  mean(): Float64Array {
    return this.mu.slice();
  }

  /** Unbiased variance M2 / (N - 1); zero when N < 2. */
  variance(): Float64Array {
    const out = new Float64Array(this.cols);
    if (this.tokens < 2) return out;
    for (let j = 0; j < this.cols; j++) out[j] = Math.max(0, this.m2[j]! / (this.tokens - 1));
    return out;
  }

  scaler(): Float64Array {
    const out = new Float64Array(this.cols);
    if (this.sequences === 0) return out;
    for (let j = 0; j < this.cols; j++) out[j] = this.sumsq[j]! / this.sequences;
    return out;
  }

  /** SparseGPT's H = (2 / S) * sum_s X_s^T X_s as a full symmetric row-major [cols, cols] float64 matrix. */
  hessian(): Float64Array {
    if (!this.xtx) throw new PruneError('LayerStats.hessian: this collector was created without a Hessian');
    const n = this.cols;
    const h = new Float64Array(n * n);
    const s = this.sequences > 0 ? 2 / this.sequences : 0;
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const v = this.xtx[i * n + j]! * s;
        h[i * n + j] = v;
        h[j * n + i] = v;
      }
    }
    return h;
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
