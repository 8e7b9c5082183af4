/**
 * 16-bit weights: `HalfTensor` holds F16 or BF16 values as their bit patterns (contiguous, row-major) and is
 * widened to float32 exactly where it is used (inside the matmul's B packing and the matrix-vector loop), so
 * `linear(x, h)` is bit-identical to `linear(x, h.toFloat32())` at half the memory traffic.
 */
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './dtype.js';
import { fmtShape, TensorError } from './errors.js';
import { readRowsKBlocked } from './kblocked.js';
import { checkShape, numel, type Shape } from './layout.js';
import { allocF32, allocU16 } from './storage.js';
import { Tensor } from './tensor.js';

/** The 16-bit float formats a HalfTensor can hold. */
export type HalfDtype = 'f16' | 'bf16';

/**
 * A contiguous tensor of float16 or bfloat16 bit patterns (row-major); no arithmetic, only conversion. A 2-d
 * resident weight with long rows may instead hold its data k-blocked (`kBlock` > 0, kblocked.ts: blocks of
 * `kBlock` inputs, each row after row), which the matmul kernels and `toFloat32` / `rowMajor` read.
 */
export class HalfTensor {
  readonly dtype: HalfDtype;
  readonly data: Uint16Array;
  readonly shape: readonly number[];
  /** 0: `data` is row-major; else the k block of its k-blocked layout (2-d only, a multiple of 16). */
  readonly kBlock: number;

  /** Wraps `data` (not copied; exactly `numel(shape)` elements) as a tensor of `dtype` bit patterns. */
  constructor(dtype: HalfDtype, data: Uint16Array, shape: Shape, kBlock = 0) {
    if (dtype !== 'f16' && dtype !== 'bf16')
      throw new TensorError(`HalfTensor: dtype must be 'f16' or 'bf16', got '${String(dtype)}'`);
    checkShape(shape, 'HalfTensor');
    if (!(data instanceof Uint16Array)) throw new TensorError('HalfTensor: data must be a Uint16Array');
    if (data.length !== numel(shape))
      throw new TensorError(
        `HalfTensor: shape ${fmtShape(shape)} needs ${numel(shape)} elements, data has ${data.length}`,
      );
    if (kBlock !== 0 && (shape.length !== 2 || !Number.isInteger(kBlock) || kBlock <= 0 || kBlock % 16 !== 0))
      throw new TensorError(
        `HalfTensor: kBlock must be 0 or a positive multiple of 16 for a 2-d shape, got ${kBlock} for ${fmtShape(shape)}`,
      );
    this.dtype = dtype;
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.kBlock = kBlock;
  }

  /** This tensor with row-major data: itself, or a row-major copy of a k-blocked one. */
  rowMajor(): HalfTensor {
    if (this.kBlock === 0) return this;
    const [n, k] = this.shape as [number, number];
    const out = allocU16(this.size);
    readRowsKBlocked(this.data, n, k, this.kBlock, 0, n, out, 0, k);
    return new HalfTensor(this.dtype, out, this.shape);
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
    const data = this.rowMajor().data;
    if (this.dtype === 'bf16') decodeBf16(data, out);
    else decodeF16(data, out);
    return new Tensor(out, this.shape);
  }
}

/** Kernel code of a weight's storage: 0 float32, 1 bfloat16, 2 float16. */
export const HALF_CODE = { bf16: 1, f16: 2 } as const;
