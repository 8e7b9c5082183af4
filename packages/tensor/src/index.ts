// @stade/tensor public API. Each module's exports are listed explicitly.
export { TensorError, fmtShape, shapeMismatch } from './errors.js';
export {
  allocF32,
  allocF64,
  allocU16,
  isShared,
  setSharedGcThreshold,
  sharedMemoryAvailable,
  storageStats,
} from './storage.js';
export {
  type Shape,
  broadcastShapes,
  broadcastStrides,
  checkShape,
  contiguousStrides,
  isContiguous,
  normAxis,
  numel,
} from './layout.js';
export { Tensor, copyInto } from './tensor.js';
export {
  bf16ToF32,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16ToF32,
  f32Bits,
  f32FromBits,
  f32ToBf16,
  f32ToF16,
} from './dtype.js';
export { type LinearWeight, linear, linearInto, matmul, matmulInto } from './ops/matmul.js';
export { type HalfDtype, HalfTensor } from './half.js';
export { type PackFormat, type PackedDtype, PackedWeight, packWeight } from './packed.js';
export { simdSupported, relaxedSimdSupported } from './wasm/runtime.js';
export {
  add,
  addInto,
  div,
  divInto,
  exp,
  gelu,
  geluInto,
  mul,
  mulInto,
  neg,
  relu,
  reluInto,
  scale,
  scaleInto,
  sigmoid,
  silu,
  siluInto,
  sub,
  subInto,
} from './ops/elementwise.js';
export {
  type RotaryOptions,
  type SoftmaxOptions,
  applyRotary,
  applyRotaryInto,
  embedding,
  embeddingInto,
  layerNorm,
  layerNormInto,
  logSoftmax,
  logSoftmaxInto,
  rmsNorm,
  rmsNormInto,
  softmax,
  softmaxInto,
} from './ops/nn.js';
export {
  type Backend,
  availableCores,
  getBackend,
  getThreads,
  resolveBackend,
  setBackend,
  setThreads,
  wasmSimdAvailable,
} from './config.js';
export { type ParallelOptions, parallelFor, poolInfo, shutdownPool, warmPool } from './parallel/pool.js';
export { splitRows } from './parallel/split.js';
export { type Kernel, type KernelArgs, type KernelArgsOf, type KernelName, kernels } from './kernels/registry.js';
export { type ReduceOptions, type VarianceOptions, max, mean, sum, variance } from './ops/reduce.js';
export { ColumnStats, accumulateXtX } from './ops/stats.js';
export {
  type SolveOptions,
  cholesky,
  choleskyInPlace,
  choleskyInverse,
  choleskyUpper,
  lowerTriangularInverse,
  solveTriangular,
  subtractProduct,
} from './ops/linalg.js';
export type { SubProductArgs } from './kernels/linalg_update.js';
export {
  type SweepBlockOptions,
  choleskyF32InPlace,
  linalgF32Available,
  reversedLowerInverseF32,
  SweepWorkspace,
  sweepBlock,
} from './ops/linalg_f32.js';
export { argsortRows, kthSmallestPerRow } from './ops/select.js';
export { quickselect } from './kernels/select.js';
