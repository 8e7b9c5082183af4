import type { Tensor } from '@stade/tensor';
import { ErrorMeter } from '../metrics.js';

/**
 * The error of a block's output as the next block sees it: both LayerNorm and RMSNorm rescale every token to a
 * fixed norm, so what matters is each token's error relative to its own norm. Accumulates, over tokens t with a
 * non-zero dense output a_t, the mean of ||a_t - b_t||^2 / ||a_t||^2, and the plain MSE alongside (float64).
 */
export class TokenRelativeMeter {
  private tokens = 0;
  private rel = 0;
  private readonly plain = new ErrorMeter();

  add(dense: Tensor /* [T, hidden] */, pruned: Tensor /* [T, hidden] */): void {
    const [rows, d] = dense.shape as [number, number];
    const a = dense.values();
    const b = pruned.values();
    for (let t = 0; t < rows; t++) {
      let num = 0;
      let den = 0;
      const o = t * d;
      for (let k = 0; k < d; k++) {
        const x = a[o + k]!;
        const e = x - b[o + k]!;
        num += e * e;
        den += x * x;
      }
      if (den > 0) {
        this.rel += num / den;
        this.tokens++;
      }
    }
    this.plain.add(a, b);
  }

  /** Mean over tokens of ||a_t - b_t||^2 / ||a_t||^2. */
  relative(): number {
    return this.tokens ? this.rel / this.tokens : 0;
  }

  mse(): number {
    return this.plain.mse();
  }
}
