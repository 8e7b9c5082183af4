/**
 * 16-bit weights: `HalfTensor` holds F16 or BF16 values as their bit patterns (contiguous, row-major) and is
 * widened to float32 exactly where it is used (inside the matmul's B packing and the matrix-vector loop), so
 * `linear(x, h)` is bit-identical to `linear(x, h.toFloat32())` at half the memory traffic.
 */
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './dtype.js';
import { fmtShape, TensorError } from './errors.js';
import { checkShape, numel, type Shape } from './layout.js';
import { allocF32, allocU16 } from './storage.js';
import { Tensor } from './tensor.js';

/** The 16-bit float formats a HalfTensor can hold. */
export type HalfDtype = 'f16' | 'bf16';

/** A contiguous tensor of float16 or bfloat16 bit patterns (row-major); no arithmetic, only conversion. */
export class HalfTensor {
  readonly dtype: HalfDtype;
  readonly data: Uint16Array;
  readonly shape: readonly number[];

  /** Wraps `data` (not copied; exactly `numel(shape)` elements) as a tensor of `dtype` bit patterns. */
  constructor(dtype: HalfDtype, data: Uint16Array, shape: Shape) {
    if (dtype !== 'f16' && dtype !== 'bf16')
      throw new TensorError(`HalfTensor: dtype must be 'f16' or 'bf16', got '${String(dtype)}'`);
    checkShape(shape, 'HalfTensor');
    if (!(data instanceof Uint16Array)) throw new TensorError('HalfTensor: data must be a Uint16Array');
    if (data.length !== numel(shape))
      throw new TensorError(
        `HalfTensor: shape ${fmtShape(shape)} needs ${numel(shape)} elements, data has ${data.length}`,
      );
    this.dtype = dtype;
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  /** Rounds a float32 tensor (any layout) to `dtype` (nearest even; NaN stays NaN), on shared memory when available. */
  static fromFloat32(t: Tensor, dtype: HalfDtype): HalfTensor {
    const src = t.toContiguous().data;
    const out = allocU16(src.length);
    if (dtype === 'bf16') encodeBf16(src, out);
    else if (dtype === 'f16') encodeF16(src, out);
    return new HalfTensor(dtype, out, t.shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.data.length;
  }

  /** The exact float32 values as a new contiguous Tensor. */
  toFloat32(): Tensor {
    const out = allocF32(this.size);
    if (this.dtype === 'bf16') decodeBf16(this.data, out);
    else decodeF16(this.data, out);
    return new Tensor(out, this.shape);
  }
}

/** Kernel code of a weight's storage: 0 float32, 1 bfloat16, 2 float16. */
export const HALF_CODE = { bf16: 1, f16: 2 } as const;
