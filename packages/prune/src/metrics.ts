import type { Tensor } from '@stade/tensor';

/** Accumulates the mean squared error and cosine similarity between dense and pruned outputs (float64). */
export class ErrorMeter {
  private n = 0;
  private se = 0;
  private dd = 0;
  private pp = 0;
  private dp = 0;

  add(dense: ArrayLike<number>, pruned: ArrayLike<number>): void {
    const len = dense.length;
    for (let k = 0; k < len; k++) {
      const a = dense[k]!;
      const b = pruned[k]!;
      const d = a - b;
      this.se += d * d;
      this.dd += a * a;
      this.pp += b * b;
      this.dp += a * b;
    }
    this.n += len;
  }

  addTensors(dense: Tensor, pruned: Tensor): void {
    this.add(dense.values(), pruned.values());
  }

  get count(): number {
    return this.n;
  }

  mse(): number {
    return this.n ? this.se / this.n : 0;
  }

  /** Cosine similarity of the flattened outputs (1 when both are zero). */
  cosine(): number {
    if (this.dd === 0 && this.pp === 0) return 1;
    if (this.dd === 0 || this.pp === 0) return 0;
    return this.dp / Math.sqrt(this.dd * this.pp);
  }
}

/**
 * y = x W^T + b for row-major x [rows, inp] and w [out, inp], float64 accumulation. Used for the per-layer
 * error report on a few windows.
 */
export function linearRef(x: Float32Array, rows: number, inp: number, w: Float32Array, out: number, b: Float32Array | null): Float64Array {
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    const xo = r * inp;
    for (let i = 0; i < out; i++) {
      const wo = i * inp;
      let s0 = 0;
      let s1 = 0;
      let j = 0;
      for (; j + 1 < inp; j += 2) {
        s0 += x[xo + j]! * w[wo + j]!;
        s1 += x[xo + j + 1]! * w[wo + j + 1]!;
      }
      if (j < inp) s0 += x[xo + j]! * w[wo + j]!;
      y[r * out + i] = s0 + s1 + (b ? b[i]! : 0);
    }
  }
  return y;
}
