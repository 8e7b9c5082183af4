// @stade/tensor public API. Each module's exports are listed explicitly.

export {
  availableCores,
  type Backend,
  getBackend,
  getThreads,
  resolveBackend,
  setBackend,
  setThreads,
  wasmSimdAvailable,
} from './config.js';
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
export { fmtShape, shapeMismatch, TensorError } from './errors.js';
export { type HalfDtype, HalfTensor } from './half.js';
export type { SubProductArgs } from './kernels/linalg_update.js';
export { type Kernel, type KernelArgs, type KernelArgsOf, type KernelName, kernels } from './kernels/registry.js';
export { quickselect } from './kernels/select.js';
export {
  broadcastShapes,
  broadcastStrides,
  checkShape,
  contiguousStrides,
  isContiguous,
  normAxis,
  numel,
  type Shape,
} from './layout.js';
export {
  type DecodeAttentionSpec,
  decodeAttention,
  decodeAttentionSupported,
  freeResidentF32,
  residentF32,
} from './ops/attention_decode.js';
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
  cholesky,
  choleskyInPlace,
  choleskyInverse,
  choleskyUpper,
  lowerTriangularInverse,
  type SolveOptions,
  solveTriangular,
  subtractProduct,
} from './ops/linalg.js';
export {
  choleskyF32InPlace,
  linalgF32Available,
  reversedLowerInverseF32,
  type SweepBlockOptions,
  SweepWorkspace,
  sweepBlock,
} from './ops/linalg_f32.js';
export { type LinearWeight, linear, linearGroup, linearInto, matmul, matmulInto } from './ops/matmul.js';
export {
  applyRotary,
  applyRotaryInto,
  embedding,
  embeddingInto,
  layerNorm,
  layerNormInto,
  logSoftmax,
  logSoftmaxInto,
  type RotaryOptions,
  rmsNorm,
  rmsNormInto,
  type SoftmaxOptions,
  softmax,
  softmaxInto,
} from './ops/nn.js';
export { max, mean, type ReduceOptions, sum, type VarianceOptions, variance } from './ops/reduce.js';
export { argsortRows, kthSmallestPerRow } from './ops/select.js';
export { accumulateXtX, ColumnStats } from './ops/stats.js';
export { type PackAlloc, type PackedDtype, PackedWeight, type PackFormat, packWeight } from './packed.js';
export { type ParallelOptions, parallelFor, poolInfo, shutdownPool, warmPool } from './parallel/pool.js';
export { splitRows } from './parallel/split.js';
export {
  Arena,
  allocF32,
  allocF64,
  allocU16,
  currentArena,
  isShared,
  persistent,
  type StorageStats,
  setRecyclerCap,
  setSharedGcThreshold,
  sharedMemoryAvailable,
  storageStats,
} from './storage.js';
export { copyInto, Tensor } from './tensor.js';
export { arenaLiveBytes } from './wasm/arena.js';
export {
  decodeWeight,
  enableResidentDecode,
  freeResidentArray,
  isResident,
  makeResident,
  packResident,
  releaseResident,
  releaseResidentDecode,
  residentArray,
  residentAs,
} from './wasm/resident.js';
export { relaxedSimdSupported, simdSupported } from './wasm/runtime.js';
