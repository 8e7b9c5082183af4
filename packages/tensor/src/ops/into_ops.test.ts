// The `*Into` variants added for allocation-free forward passes: same values as the allocating ops, aliasing
// where documented, and no storage allocated by a steady loop of single gemms.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refEmbedding, refRotary } from '../kernels/reference.js';
import { storageStats } from '../storage.js';
import { Tensor } from '../tensor.js';
import { arbAnyLayout, arbDim, expectClose, randn } from '../testing/index.js';
import { gelu, geluInto, relu, reluInto, scale, scaleInto, silu, siluInto } from './elementwise.js';
import { linearInto, matmulInto } from './matmul.js';
import { applyRotary, applyRotaryInto, embedding, embeddingInto } from './nn.js';

describe('applyRotaryInto', () => {
  it('rotates [T, H, D] heads in place with positionAxis 0, like the reference on [H, T, D]', () => {
    const arbCase = fc
      .tuple(arbDim(9), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }))
      .chain(([T, H, h]) => fc.tuple(arbAnyLayout([T, H, 2 * h]), arbAnyLayout([T, 2 * h]), arbAnyLayout([T, 2 * h])));
    fc.assert(
      fc.property(arbCase, ([x, c, s]) => {
        const want = refRotary(x.permute([1, 0, 2]), c, s).permute([1, 0, 2]); // [T, H, D]
        const buf = x.clone();
        applyRotaryInto(buf, c, s, buf, { positionAxis: 0 });
        expectClose(buf, want, { rtol: 1e-5, atol: 1e-6 });
        const out = Tensor.zeros(x.shape);
        applyRotaryInto(x, c, s, out, { positionAxis: 0 });
        expect(Array.from(out.data)).toEqual(Array.from(buf.data));
      }),
      { numRuns: 60 },
    );
  });

  it('with the default axis equals applyRotary bit for bit, also in place', () => {
    const x = randn([2, 5, 8], 3);
    const c = randn([5, 8], 4);
    const s = randn([5, 8], 5);
    const want = applyRotary(x, c, s);
    const buf = x.clone();
    applyRotaryInto(buf, c, s, buf);
    expect(Array.from(buf.data)).toEqual(Array.from(want.data));
    expect(() => applyRotaryInto(x, c, s, buf, { positionAxis: 2 })).toThrow(/positionAxis 2/);
  });
});

describe('embeddingInto', () => {
  it('equals embedding and the reference', () => {
    const t = randn([11, 6], 1);
    const ids = Int32Array.from([3, 0, 10, 3]);
    const out = Tensor.zeros([4, 6]);
    embeddingInto(t, ids, out);
    expect(Array.from(out.data)).toEqual(Array.from(embedding(t, ids).data));
    expectClose(out, refEmbedding(t, ids), { atol: 0, rtol: 0 });
    expect(() => embeddingInto(t, ids, Tensor.zeros([3, 6]))).toThrow(/embeddingInto/);
    expect(() => embeddingInto(t, [11], Tensor.zeros([1, 6]))).toThrow(/token id 11 at position 0/);
  });
});

describe('unary *Into', () => {
  it('equal the allocating ops bit for bit, in place or not', () => {
    fc.assert(
      fc.property(arbAnyLayout([3, 7]), (x) => {
        const cases: [Tensor, (o: Tensor) => Tensor][] = [
          [scale(x, 0.37), (o) => scaleInto(x, 0.37, o)],
          [relu(x), (o) => reluInto(x, o)],
          [silu(x), (o) => siluInto(x, o)],
          [gelu(x, 'tanh'), (o) => geluInto(x, 'tanh', o)],
          [gelu(x), (o) => geluInto(x, 'erf', o)],
        ];
        for (const [want, run] of cases)
          expect(Array.from(run(Tensor.zeros([3, 7])).data)).toEqual(Array.from(want.data));
        const buf = x.clone();
        siluInto(buf, buf);
        expect(Array.from(buf.data)).toEqual(Array.from(silu(x).data));
      }),
      { numRuns: 30 },
    );
  });
});

describe('steady gemm loops', () => {
  it('matmulInto and linearInto with preallocated outputs allocate no storage', () => {
    const a = randn([4, 6], 1);
    const b = randn([6, 5], 2);
    const w = randn([5, 6], 3);
    const out = Tensor.zeros([4, 5]);
    matmulInto(a, b, out);
    const before = storageStats();
    for (let i = 0; i < 10; i++) {
      matmulInto(a.narrow(0, 1, 3), b, out.narrow(0, 0, 3).clone());
      linearInto(a, w, null, out);
      matmulInto(a, b, out);
    }
    const after = storageStats();
    // only the 10 explicit clones above
    expect(after.buffersAllocated - before.buffersAllocated).toBe(10);
    expect(after.sharedBytesAllocated - before.sharedBytesAllocated).toBe(10 * 3 * 5 * 4);
  });
});
