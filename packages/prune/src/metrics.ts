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
