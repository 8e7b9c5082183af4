/** Seeded generators for reproducible test data (not cryptographic). */
import { numel, type Shape } from '../layout.js';
import { Tensor } from '../tensor.js';

/** Mulberry32: a tiny seeded PRNG returning uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with standard normal samples (Box-Muller) drawn from `rand`. */
export function fillRandn(out: Float32Array, rand: () => number, std = 1, mean = 0): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - rand(); // (0, 1]
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = mean + r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** A contiguous tensor of standard normal samples, reproducible from `seed`. */
export function randn(shape: Shape, seed = 0, std = 1, mean = 0): Tensor {
  const t = Tensor.zeros(shape);
  fillRandn(t.data, mulberry32(seed), std, mean);
  return t;
}

/** A contiguous tensor of uniform samples in [lo, hi), reproducible from `seed`. */
export function randu(shape: Shape, seed = 0, lo = 0, hi = 1): Tensor {
  const t = Tensor.zeros(shape);
  const r = mulberry32(seed);
  const n = numel(shape);
  for (let i = 0; i < n; i++) t.data[i] = lo + (hi - lo) * r();
  return t;
}
