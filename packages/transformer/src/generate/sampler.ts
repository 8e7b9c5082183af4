import { StadeError } from '../errors.js';

/** How the next token is chosen from the logits. */
export interface SamplerOptions {
  /** 0: greedy (the highest logit, ties to the lowest id); otherwise logits are divided by it before sampling. */
  temperature: number;
  /** Keep only the k highest logits (ties with the k-th kept too, as transformers); 0 or undefined: all. */
  topK?: number;
  /** Keep the smallest set of most probable tokens whose probability reaches p; 1 or undefined: all. */
  topP?: number;
  /** Seed of the sampling random numbers (same seed, same tokens). */
  seed?: number;
}

/** Seeded uniform random numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The index of the largest value; ties go to the lowest index (NaN is never chosen over a number). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]! || Number.isNaN(x[best]!)) best = i;
  return best;
}

/** Checks sampler options (the CLI parses them at the edge; this guards the library API). */
export function checkSamplerOptions(o: SamplerOptions): void {
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature))
    throw new StadeError(`temperature must be a finite number >= 0, got ${o.temperature}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0))
    throw new StadeError(`top-k must be an integer >= 0, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new StadeError(`top-p must be in (0, 1], got ${o.topP}`);
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff))
    throw new StadeError(`seed must be an integer in [0, 2^32), got ${o.seed}`);
}

/**
 * Picks next tokens from logits: greedy at temperature 0, else temperature, then top-k, then top-p (the order of
 * transformers' logits warpers), then one seeded draw. Deterministic: the same seed and logits give the same ids.
 */
export class Sampler {
  private readonly rand: () => number;
  private order: Int32Array = new Int32Array(0);
  private probs: Float64Array = new Float64Array(0);

  constructor(readonly options: SamplerOptions) {
    checkSamplerOptions(options);
    this.rand = seededRandom(options.seed ?? 0);
  }

  /** The next token id from one row of logits (`[vocab]`). */
  next(logits: Float32Array): number {
    const { temperature, topK = 0, topP = 1 } = this.options;
    if (temperature === 0) return argmax(logits);
    const V = logits.length;
    if (this.order.length !== V) {
      this.order = new Int32Array(V);
      this.probs = new Float64Array(V);
    }
    // candidates sorted by logit, highest first, ties by lower id
    const order = this.order;
    for (let i = 0; i < V; i++) order[i] = i;
    order.sort((a, b) => logits[b]! - logits[a]! || a - b);
    let n = V;
    if (topK > 0 && topK < V) {
      const kth = logits[order[topK - 1]!]!;
      n = topK;
      while (n < V && logits[order[n]!]! >= kth) n++; // ties with the k-th are kept
    }
    // softmax over the kept candidates, in float64
    const p = this.probs;
    const top = logits[order[0]!]! / temperature;
    let total = 0;
    for (let r = 0; r < n; r++) {
      const e = Math.exp(logits[order[r]!]! / temperature - top);
      p[r] = e;
      total += e;
    }
    if (topP < 1) {
      let cum = 0;
      let keep = 0;
      while (keep < n) {
        cum += p[keep]! / total;
        keep++;
        if (cum >= topP) break;
      }
      n = keep;
      total = 0;
      for (let r = 0; r < n; r++) total += p[r]!;
    }
    const u = this.rand() * total;
    let cum = 0;
    for (let r = 0; r < n; r++) {
      cum += p[r]!;
      if (u < cum) return order[r]!;
    }
    return order[n - 1]!;
  }
}
