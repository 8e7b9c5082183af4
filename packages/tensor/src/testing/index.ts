// @stade/tensor/testing: shared helpers for every package's tests.

export {
  arbAnyLayout,
  arbBroadcastShapes,
  arbDim,
  arbShape,
  arbStridedView,
  arbTensor,
  type ShapeOptions,
  stridedView,
  type TensorOptions,
} from './arbitraries.js';
export { type CloseOptions, expectClose } from './close.js';
export { fillRandn, mulberry32, randn, randu } from './random.js';
export { type StorageUse, storageUse } from './storage.js';
