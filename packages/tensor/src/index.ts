// @stade/tensor public API. Each module's exports are listed explicitly.
export { TensorError, fmtShape, shapeMismatch } from './errors.js';
export { allocF32, allocF64, isShared, sharedMemoryAvailable } from './storage.js';
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
