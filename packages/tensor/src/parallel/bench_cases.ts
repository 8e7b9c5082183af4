/**
 * Benchmark cases for the row ops that run on the pool (1 vs 2 threads):
 *   npm run bench -- --with packages/tensor/dist/parallel/bench_cases.js --filter pool
 * `flops` counts the arithmetic of the reference formulas (roughly), so GFLOP/s compares thread counts; the
 * ms column is the figure to read.
 */
import { addBenchCase } from '../bench/registry.js';
import { gelu } from '../ops/elementwise.js';
import { layerNorm, softmax } from '../ops/nn.js';
import { accumulateXtX } from '../ops/stats.js';
import { randn } from '../testing/random.js';

const common = { kernels: ['js' as const], threads: [1, 2], tags: ['pool'] };

addBenchCase({
  ...common,
  op: 'softmax causal',
  shape: '12x512x512',
  flops: 12 * 512 * 512 * 4,
  setup: () => {
    const x = randn([12, 512, 512], 1);
    return () => void softmax(x, { causal: true });
  },
});

addBenchCase({
  ...common,
  op: 'layerNorm',
  shape: '2048x768',
  flops: 2048 * 768 * 8,
  setup: () => {
    const x = randn([2048, 768], 2);
    const w = randn([768], 3);
    const b = randn([768], 4);
    return () => void layerNorm(x, w, b);
  },
});

addBenchCase({
  ...common,
  op: 'gelu',
  shape: '2048x3072',
  flops: 2048 * 3072 * 20,
  setup: () => {
    const x = randn([2048, 3072], 5);
    return () => void gelu(x);
  },
});

addBenchCase({
  ...common,
  op: 'accumulateXtX',
  shape: '2048x768',
  flops: 2048 * 768 * 769,
  setup: () => {
    const x = randn([2048, 768], 6);
    const h = new Float64Array(768 * 768);
    return () => void accumulateXtX(h, x);
  },
});
