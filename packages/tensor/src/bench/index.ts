// Benchmark registry and runner, for other packages that add cases (subpath `@stade/tensor/bench`).

export { addBatchedMatmulCase, addLinearCase, addMatmulCases } from './matmul_cases.js';
export { addBenchCase, type BenchCase, type BenchKernel, benchCases } from './registry.js';
export { type Baseline, type BenchOptions, type BenchResult, baselineKey, formatTable, runBench } from './run.js';
export { addWeightCases, addWeightsCases, formatWeightRatios, WEIGHTS_OP } from './weights_cases.js';
