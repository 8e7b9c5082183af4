import { describe, expect, it } from 'vitest';
import { copyInto, Tensor, TensorError } from './index.js';

describe('Tensor views', () => {
  const t = Tensor.from(
    Array.from({ length: 24 }, (_, i) => i),
    [2, 3, 4],
  );

  it('transpose is a view that reads the swapped element', () => {
    const v = t.transpose(0, 2); // [4, 3, 2]
    expect(v.shape).toEqual([4, 3, 2]);
    expect(v.data).toBe(t.data);
    expect(v.get(3, 1, 1)).toBe(t.get(1, 1, 3));
    expect(v.contiguous).toBe(false);
  });

  it('narrow and select offset into the same storage', () => {
    const n = t.narrow(2, 1, 2); // [2, 3, 2]
    expect(n.toArray().slice(0, 4)).toEqual([1, 2, 5, 6]);
    const s = t.select(1, 2); // [2, 4]
    expect(s.toArray()).toEqual([8, 9, 10, 11, 20, 21, 22, 23]);
  });

  it('reshape of a non-contiguous view copies in row-major order', () => {
    const v = t.transpose(0, 1).reshape([-1]);
    expect(v.toArray().slice(0, 6)).toEqual([0, 1, 2, 3, 12, 13]);
  });

  it('copyInto walks strided views', () => {
    const out = new Float32Array(24);
    copyInto(t.permute([2, 0, 1]), out);
    expect(Array.from(out.slice(0, 6))).toEqual([0, 4, 8, 12, 16, 20]);
  });

  it('rejects bad shapes and indices with TensorError', () => {
    expect(() => t.reshape([5, 5])).toThrow(TensorError);
    expect(() => t.narrow(0, 1, 2)).toThrow(/out of bounds/);
    expect(() => Tensor.from([1, 2, 3], [2, 2])).toThrow(/do not fill/);
  });
});
