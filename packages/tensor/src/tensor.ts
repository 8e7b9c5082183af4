import { fmtShape, TensorError } from './errors.js';
import { checkShape, contiguousStrides, isContiguous, normAxis, numel, type Shape } from './layout.js';
import { allocF32 } from './storage.js';

/**
 * A float32 tensor: a storage array plus a layout (shape, strides in elements, offset).
 * Views (reshape of contiguous data, transpose, narrow, select) share storage; this class has no arithmetic.
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;

  constructor(data: Float32Array, shape: Shape, strides?: readonly number[], offset = 0) {
    checkShape(shape);
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    if (this.strides.length !== this.shape.length)
      throw new TensorError(`tensor: strides ${fmtShape(this.strides)} do not match shape ${fmtShape(shape)}`);
    if (!strides && offset + numel(shape) > data.length) {
      throw new TensorError(
        `tensor: shape ${fmtShape(shape)} needs ${numel(shape)} elements, storage has ${data.length - offset}`,
      );
    }
  }

  /** A new zero-filled contiguous tensor. */
  static zeros(shape: Shape): Tensor {
    checkShape(shape, 'zeros');
    return new Tensor(allocF32(numel(shape)), shape);
  }

  /** A contiguous tensor over a copy of `values` (or over `values` itself when it is a Float32Array and `copy` is false). */
  static from(values: ArrayLike<number>, shape: Shape = [values.length], copy = true): Tensor {
    checkShape(shape, 'from');
    if (numel(shape) !== values.length)
      throw new TensorError(`from: ${values.length} values do not fill shape ${fmtShape(shape)}`);
    if (!copy && values instanceof Float32Array) return new Tensor(values, shape);
    const d = allocF32(values.length);
    d.set(values);
    return new Tensor(d, shape);
  }

  /** A tensor whose every element is `value`. */
  static full(shape: Shape, value: number): Tensor {
    const t = Tensor.zeros(shape);
    t.data.fill(value);
    return t;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return numel(this.shape);
  }

  /** True when the elements are laid out densely in row-major order starting at `offset`. */
  get contiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** Storage index of a multi-index. */
  index(...idx: number[]): number {
    if (idx.length !== this.ndim) throw new TensorError(`index: ${idx.length} indices for a ${this.ndim}-d tensor`);
    let o = this.offset;
    for (let i = 0; i < idx.length; i++) {
      const k = idx[i]!;
      if (k < 0 || k >= this.shape[i]!)
        throw new TensorError(`index: ${k} out of range for axis ${i} of ${fmtShape(this.shape)}`);
      o += k * this.strides[i]!;
    }
    return o;
  }

  get(...idx: number[]): number {
    return this.data[this.index(...idx)]!;
  }

  set(value: number, ...idx: number[]): void {
    this.data[this.index(...idx)] = value;
  }

  /** A contiguous copy (always a fresh buffer). */
  clone(): Tensor {
    const out = Tensor.zeros(this.shape);
    copyInto(this, out.data);
    return out;
  }

  /** This tensor if contiguous with offset 0 and exact length, else a contiguous copy. */
  toContiguous(): Tensor {
    if (this.contiguous && this.offset === 0 && this.data.length === this.size) return this;
    return this.clone();
  }

  /** The elements in row-major order as a Float32Array (a view when possible, else a copy). */
  values(): Float32Array {
    if (this.contiguous) return this.data.subarray(this.offset, this.offset + this.size);
    return this.clone().data;
  }

  /** Elements as a plain array, row-major. */
  toArray(): number[] {
    return Array.from(this.values());
  }

  /** A view with a new shape (one dimension may be -1); copies only when the tensor is not contiguous. */
  reshape(shape: Shape): Tensor {
    const n = this.size;
    const s = [...shape];
    const neg = s.indexOf(-1);
    if (neg >= 0) {
      const rest = numel(s.filter((_, i) => i !== neg));
      if (rest === 0 || n % rest !== 0)
        throw new TensorError(`reshape: cannot reshape ${fmtShape(this.shape)} to ${fmtShape(shape)}`);
      s[neg] = n / rest;
    }
    checkShape(s, 'reshape');
    if (numel(s) !== n) throw new TensorError(`reshape: cannot reshape ${fmtShape(this.shape)} to ${fmtShape(shape)}`);
    const base = this.contiguous ? this : this.clone();
    return new Tensor(base.data, s, contiguousStrides(s), base.offset);
  }

  /** A view with axes `a` and `b` swapped (default: the last two). */
  transpose(a = -2, b = -1): Tensor {
    const x = normAxis(a, this.ndim, 'transpose');
    const y = normAxis(b, this.ndim, 'transpose');
    const shape = [...this.shape];
    const strides = [...this.strides];
    [shape[x], shape[y]] = [shape[y]!, shape[x]!];
    [strides[x], strides[y]] = [strides[y]!, strides[x]!];
    return new Tensor(this.data, shape, strides, this.offset);
  }

  /** A view with axes reordered. */
  permute(order: readonly number[]): Tensor {
    if (order.length !== this.ndim || new Set(order.map((a) => normAxis(a, this.ndim, 'permute'))).size !== this.ndim) {
      throw new TensorError(`permute: invalid order ${fmtShape(order)} for ${fmtShape(this.shape)}`);
    }
    const ax = order.map((a) => normAxis(a, this.ndim, 'permute'));
    return new Tensor(
      this.data,
      ax.map((i) => this.shape[i]!),
      ax.map((i) => this.strides[i]!),
      this.offset,
    );
  }

  /** A view of `length` entries along `axis` starting at `start`. */
  narrow(axis: number, start: number, length: number): Tensor {
    const a = normAxis(axis, this.ndim, 'narrow');
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(length) ||
      start < 0 ||
      length < 0 ||
      start + length > this.shape[a]!
    ) {
      throw new TensorError(
        `narrow: range [${start}, ${start + length}) out of bounds for axis ${a} of ${fmtShape(this.shape)}`,
      );
    }
    const shape = [...this.shape];
    shape[a] = length;
    return new Tensor(this.data, shape, this.strides, this.offset + start * this.strides[a]!);
  }

  /** A view with `axis` removed, fixed at `index`. */
  select(axis: number, index: number): Tensor {
    const a = normAxis(axis, this.ndim, 'select');
    if (!Number.isInteger(index) || index < 0 || index >= this.shape[a]!) {
      throw new TensorError(`select: index ${index} out of range for axis ${a} of ${fmtShape(this.shape)}`);
    }
    return new Tensor(
      this.data,
      this.shape.filter((_, i) => i !== a),
      this.strides.filter((_, i) => i !== a),
      this.offset + index * this.strides[a]!,
    );
  }

  toString(): string {
    return `Tensor${fmtShape(this.shape)}`;
  }
}

/** Copies the elements of `src` in row-major order into `dst` starting at `dstOffset`. */
export function copyInto(src: Tensor, dst: Float32Array, dstOffset = 0): void {
  const n = src.size;
  if (n === 0) return;
  if (src.contiguous) {
    dst.set(src.data.subarray(src.offset, src.offset + n), dstOffset);
    return;
  }
  const nd = src.ndim;
  const shape = src.shape;
  const strides = src.strides;
  const last = shape[nd - 1]!;
  const ls = strides[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  const data = src.data;
  let o = dstOffset;
  for (let done = 0; done < n; done += last) {
    let base = src.offset;
    for (let i = 0; i < nd - 1; i++) base += idx[i]! * strides[i]!;
    for (let k = 0; k < last; k++) dst[o++] = data[base + k * ls]!;
    for (let i = nd - 2; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
}
