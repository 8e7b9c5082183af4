// @stade/tensor/testing: shared helpers for every package's tests.
export { type CloseOptions, expectClose } from './close.js';
export { fillRandn, mulberry32, randn, randu } from './random.js';
export {
  type ShapeOptions,
  type TensorOptions,
  arbAnyLayout,
  arbBroadcastShapes,
  arbDim,
  arbShape,
  arbStridedView,
  arbTensor,
  stridedView,
} from './arbitraries.js';
