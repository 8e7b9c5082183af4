// Benchmark registry and runner, for other packages that add cases (subpath `@stade/tensor/bench`).
export { type BenchCase, type BenchKernel, addBenchCase, benchCases } from './registry.js';
export { addBatchedMatmulCase, addLinearCase, addMatmulCases } from './matmul_cases.js';
export { type Baseline, type BenchOptions, type BenchResult, baselineKey, formatTable, runBench } from './run.js';
