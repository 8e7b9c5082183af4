/**
 * The engine's own benchmark cases: `linear` on OPT-125M and Llama-like shapes, decode, attention scores.
 * Outputs are preallocated and reused (`linearInto` / `matmulInto`), as in a steady-state loop: on the
 * project's VM, first-touching fresh memory costs ~15 us per 4 KB page, which would otherwise dominate
 * low-intensity cases.
 */
import { linearInto, matmulInto } from '../ops/matmul.js';
import { Tensor } from '../tensor.js';
import { randn } from '../testing/random.js';
import { addBenchCase } from './registry.js';

/** Adds `linear` x [m, k] by W [n, k] (with bias) as a case. */
export function addLinearCase(m: number, k: number, n: number, tags: string[] = []): void {
  addBenchCase({
    op: 'linear',
    shape: `${m}x${k} by ${n}x${k}`,
    flops: 2 * m * n * k,
    tags,
    minMs: m === 1 ? 500 : 1000,
    setup: () => {
      const x = randn([m, k], 1);
      const w = randn([n, k], 2, 0.05);
      const b = randn([n], 3);
      const out = Tensor.zeros([m, n]);
      return () => {
        linearInto(x, w, b, out);
      };
    },
  });
}

/** Adds batched `matmul` [batch, m, k] x [batch, k, n] (B read through a transposed view, as Q K^T). */
export function addBatchedMatmulCase(batch: number, m: number, k: number, n: number, tags: string[] = []): void {
  addBenchCase({
    op: 'matmul',
    shape: `${batch}x${m}x${k} by ${batch}x${k}x${n}`,
    flops: 2 * batch * m * n * k,
    tags,
    setup: () => {
      const q = randn([batch, m, k], 4);
      const kt = randn([batch, n, k], 5).transpose(1, 2);
      const out = Tensor.zeros([batch, m, n]);
      return () => {
        matmulInto(q, kt, out);
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
  // attention scores of OPT-125M: 12 heads, 2048 tokens, head dim 64
  addBatchedMatmulCase(12, 2048, 64, 2048, ['attention']);
}
