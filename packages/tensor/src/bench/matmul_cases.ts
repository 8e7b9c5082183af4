/** The engine's own benchmark cases: `linear` on OPT-125M and Llama-like shapes, and decode. */
import { linear } from '../ops/matmul.js';
import { randn } from '../testing/random.js';
import { addBenchCase } from './registry.js';

/** Adds `linear` x [m, k] by W [n, k] (with bias) as a case. */
export function addLinearCase(m: number, k: number, n: number, tags: string[] = []): void {
  addBenchCase({
    op: 'linear',
    shape: `${m}x${k} by ${n}x${k}`,
    flops: 2 * m * n * k,
    tags,
    minMs: m === 1 ? 300 : 1000,
    setup: () => {
      const x = randn([m, k], 1);
      const w = randn([n, k], 2, 0.05);
      const b = randn([n], 3);
      return () => {
        linear(x, w, b);
      };
    },
  });
}

let added = false;

/** Registers the standard cases once. */
export function addMatmulCases(): void {
  if (added) return;
  added = true;
  // OPT-125M with 2048 tokens: q/k/v/out_proj, fc1, fc2
  addLinearCase(2048, 768, 768, ['opt']);
  addLinearCase(2048, 768, 3072, ['opt']);
  addLinearCase(2048, 3072, 768, ['opt']);
  // Llama-like (TinyLlama 1.1B MLP) with 512 tokens
  addLinearCase(512, 2048, 5632, ['llama']);
  // decode: one token through fc1
  addLinearCase(1, 768, 3072, ['decode']);
}
