/** Shared checks for the `*Into` ops, which write into a caller-owned output instead of a fresh buffer. */
import { fmtShape, shapeMismatch, TensorError } from '../errors.js';
import { isShared } from '../storage.js';
import { Tensor } from '../tensor.js';

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Validates `into` for an op producing `shape` from `inputs` and returns the buffer to compute into plus the
 * inputs to read. `into` must be contiguous with that shape; an input may be `into` itself (same dense
 * layout), not another view of its storage. On a non-shared buffer an aliased input is read from a private
 * copy (the pool copies arguments in and back one by one). When `into` does not start at offset 0 of an
 * exactly sized buffer, `target` is a fresh tensor and `finish()` copies it over.
 */
export function prepareInto(
  op: string,
  into: Tensor,
  shape: readonly number[],
  inputs: Tensor[],
): { target: Tensor; inputs: Tensor[]; finish: () => Tensor } {
  if (!same(into.shape, shape)) shapeMismatch(op, shape, into.shape, 'out must have the result shape');
  if (!into.contiguous) throw new TensorError(`${op}: out must be contiguous, got strides ${fmtShape(into.strides)}`);
  const ins = inputs.map((t) => {
    if (t.data !== into.data) return t;
    if (!(t.contiguous && t.offset === into.offset && same(t.shape, shape))) {
      throw new TensorError(
        `${op}: out overlaps an input with a different layout; pass the input itself or a separate buffer`,
      );
    }
    return isShared(t.data) ? t : t.clone();
  });
  const direct = into.offset === 0 && into.data.length === into.size;
  const target = direct ? into : Tensor.zeros(shape);
  return {
    target,
    inputs: ins,
    finish: () => {
      if (target !== into) into.data.set(target.data, into.offset);
      return into;
    },
  };
}
