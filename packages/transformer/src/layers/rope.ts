import { persistent, Tensor } from '@stade/tensor';
import type { RopeScaling } from '../config.js';

/**
 * The inverse frequencies of rotary embeddings as transformers' modeling_rope_utils.py computes them (default,
 * `linear`, `llama3`): `inv_freq[k] = 1 / theta^(2k / dim)`, rounded to float32 like torch.
 */
export function ropeInvFreq(dim: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = dim / 2;
  const inv = new Float32Array(half);
  for (let k = 0; k < half; k++) inv[k] = 1 / Math.fround(theta ** Math.fround((2 * k) / dim));
  if (!scaling) return inv;
  if (scaling.rope_type === 'linear') {
    for (let k = 0; k < half; k++) inv[k] = inv[k]! / scaling.factor;
    return inv;
  }
  const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: old } = scaling;
  const loWavelen = old / lo;
  const hiWavelen = old / hi;
  for (let k = 0; k < half; k++) {
    const f = inv[k]!;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen > loWavelen) inv[k] = f / factor;
    else if (wavelen >= hiWavelen) {
      // medium frequencies: interpolate between the scaled and the original frequency
      const smooth = (old / wavelen - lo) / (hi - lo);
      inv[k] = (1 - smooth) * (f / factor) + smooth * f;
    }
  }
  return inv;
}

/**
 * Rotary position embedding tables with the `rotate_half` layout: `cos[t, i] = cos(t * inv_freq[i mod dim/2])`
 * (likewise sin), computed in float32 like torch. The tables for at least the longest length asked so far are
 * cached; shorter lengths are views of them.
 */
export class Rope {
  readonly invFreq: Float32Array;
  private cos: Tensor | null = null; // [len, dim]
  private sin: Tensor | null = null; // [len, dim]

  constructor(
    readonly dim: number,
    theta: number,
    scaling: RopeScaling | null,
  ) {
    this.invFreq = ropeInvFreq(dim, theta, scaling);
  }

  /** cos and sin tables `[T, dim]` for positions 0..T-1. */
  tables(T: number): { cos: Tensor; sin: Tensor } {
    if (!this.cos || this.cos.shape[0]! < T) {
      const d = this.dim;
      const half = d / 2;
      // Grown geometrically (each row depends on its position only), so that decode, which asks for one more
      // position per step, rebuilds the tables O(log T) times rather than at every step.
      const L = Math.max(T, 2 * (this.cos?.shape[0] ?? 0), 64);
      // cached across calls: never from the caller's arena
      const [cos, sin] = persistent(() => [Tensor.zeros([L, d]), Tensor.zeros([L, d])] as const);
      for (let t = 0; t < L; t++) {
        for (let k = 0; k < half; k++) {
          const a = Math.fround(t * this.invFreq[k]!);
          const c = Math.cos(a);
          const s = Math.sin(a);
          cos.data[t * d + k] = c;
          cos.data[t * d + k + half] = c;
          sin.data[t * d + k] = s;
          sin.data[t * d + k + half] = s;
        }
      }
      this.cos = cos;
      this.sin = sin;
    }
    return { cos: this.cos.narrow(0, 0, T), sin: this.sin!.narrow(0, 0, T) };
  }
}
