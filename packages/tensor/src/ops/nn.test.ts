import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refEmbedding, refLayerNorm, refRmsNorm, refRotary, refSoftmax } from '../kernels/reference.js';
import { Tensor } from '../tensor.js';
import { arbAnyLayout, arbDim, arbShape, expectClose, randn } from '../testing/index.js';
import {
  applyRotary,
  embedding,
  layerNorm,
  layerNormInto,
  logSoftmax,
  logSoftmaxInto,
  rmsNorm,
  rmsNormInto,
  softmax,
  softmaxInto,
} from './nn.js';

const arbX = arbAnyLayout(arbShape({ minRank: 1, maxRank: 3, maxDim: 37 }), { std: 4 });

describe('softmax', () => {
  it('matches the reference, plain and log, on random shapes and views', () => {
    fc.assert(
      fc.property(arbX, (x) => {
        expectClose(softmax(x), refSoftmax(x), { rtol: 1e-5, atol: 1e-7 });
        expectClose(logSoftmax(x), refSoftmax(x, false, true), { rtol: 1e-5, atol: 1e-5 });
      }),
      { numRuns: 60 },
    );
  });

  it('applies the causal mask j <= i + S - T', () => {
    const arbTS = fc.tuple(arbDim(13), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 3 }));
    fc.assert(
      fc.property(
        arbTS.chain(([T, extra, B]) => arbAnyLayout([B, T, T + extra])),
        (x) => {
          expectClose(softmax(x, { causal: true }), refSoftmax(x, true), { rtol: 1e-5, atol: 1e-7 });
          expectClose(logSoftmax(x, { causal: true }), refSoftmax(x, true, true), { rtol: 1e-5, atol: 1e-5 });
        },
      ),
      { numRuns: 50 },
    );
    const y = softmax(Tensor.zeros([2, 3]), { causal: true }); // T=2, S=3: row 0 sees 2 columns
    expectClose(y, [0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3]);
  });

  it('rows sum to 1 for large inputs and propagate NaN', () => {
    const y = softmax(Tensor.from([1000, 1001, -1000, 0], [1, 4]));
    expectClose(
      y.toArray().reduce((s, v) => s + v, 0),
      1,
      { rtol: 1e-6 },
    );
    expectClose(y, [0.26894142, 0.7310586, 0, 0], { rtol: 1e-6 });
    expect(Number.isNaN(softmax(Tensor.from([1, Number.NaN])).data[0])).toBe(true);
  });

  it('softmaxInto / logSoftmaxInto write into a given buffer or in place, with the same result', () => {
    fc.assert(
      fc.property(arbX, fc.boolean(), (x, causal) => {
        const c = causal && x.ndim >= 2 && x.shape[x.ndim - 2]! <= x.shape[x.ndim - 1]!;
        const want = softmax(x, { causal: c });
        const wantLog = logSoftmax(x, { causal: c });
        const out = Tensor.zeros(x.shape);
        expect(softmaxInto(x, out, { causal: c })).toBe(out);
        expectClose(out, want, { rtol: 0, atol: 0 });
        const inPlace = x.clone();
        softmaxInto(inPlace, inPlace, { causal: c });
        expectClose(inPlace, want, { rtol: 0, atol: 0 });
        const inPlaceLog = x.clone();
        logSoftmaxInto(inPlaceLog, inPlaceLog, { causal: c });
        expectClose(inPlaceLog, wantLog, { rtol: 0, atol: 0 });
        // A tensor over a plain (non-shared) Float32Array, in place.
        const plain = new Tensor(Float32Array.from(x.clone().data), x.shape);
        softmaxInto(plain, plain, { causal: c });
        expectClose(plain, want, { rtol: 0, atol: 0 });
      }),
      { numRuns: 40 },
    );
  });

  it('softmaxInto checks the output buffer', () => {
    const x = Tensor.zeros([2, 3]);
    expect(() => softmaxInto(x, Tensor.zeros([3, 2]))).toThrow(/softmaxInto: shape mismatch \[2, 3\] vs \[3, 2\]/);
    expect(() => softmaxInto(x, Tensor.zeros([3, 2]).transpose())).toThrow(/out must be contiguous/);
    const big = Tensor.zeros([2, 6]);
    expect(() => softmaxInto(big.narrow(1, 0, 3), big.narrow(1, 3, 3).toContiguous())).not.toThrow();
    const xs = big.narrow(1, 0, 3); // [2, 3] strided over big's storage
    expect(() => softmaxInto(xs, new Tensor(big.data, [2, 3]))).toThrow(/softmaxInto: out overlaps an input/);
  });

  it('rejects a causal mask with T > S', () => {
    expect(() => softmax(Tensor.zeros([3, 2]), { causal: true })).toThrow(
      /softmax: causal mask needs T <= S, got \[3, 2\]/,
    );
  });
});

const arbNormCase = arbShape({ minRank: 1, maxRank: 3, maxDim: 67 }).chain((s) =>
  fc.tuple(
    arbAnyLayout(s, { std: 3, mean: 1 }),
    arbAnyLayout([s[s.length - 1]!]),
    arbAnyLayout([s[s.length - 1]!]),
    fc.boolean(),
  ),
);

describe('norms', () => {
  it('layerNorm matches the float64 reference (with and without affine terms)', () => {
    fc.assert(
      fc.property(arbNormCase, ([x, w, b, affine]) => {
        expectClose(
          layerNorm(x, affine ? w : null, affine ? b : null, 1e-5),
          refLayerNorm(x, affine ? w : null, affine ? b : null, 1e-5),
          {
            rtol: 1e-5,
            atol: 1e-5,
          },
        );
      }),
      { numRuns: 60 },
    );
  });

  it('rmsNorm matches the float64 reference', () => {
    fc.assert(
      fc.property(arbNormCase, ([x, w, , affine]) => {
        expectClose(rmsNorm(x, affine ? w : null, 1e-6), refRmsNorm(x, affine ? w : null, 1e-6), {
          rtol: 1e-5,
          atol: 1e-6,
        });
      }),
      { numRuns: 60 },
    );
  });

  it('layerNormInto / rmsNormInto equal the allocating ops, into a buffer, in place, or at an offset', () => {
    fc.assert(
      fc.property(arbNormCase, ([x, w, b]) => {
        const ln = layerNorm(x, w, b, 1e-5);
        const rms = rmsNorm(x, w, 1e-6);
        const out = Tensor.zeros(x.shape);
        expect(layerNormInto(x, w, b, 1e-5, out)).toBe(out);
        expectClose(out, ln, { rtol: 0, atol: 0 });
        const own = x.clone();
        rmsNormInto(own, w, 1e-6, own);
        expectClose(own, rms, { rtol: 0, atol: 0 });
        const plain = new Tensor(Float32Array.from(x.values()), x.shape);
        layerNormInto(plain, w, b, 1e-5, plain);
        expectClose(plain, ln, { rtol: 0, atol: 0 });
        const big = Tensor.zeros([2, ...x.shape]);
        const slot = big.select(0, 1); // contiguous, offset > 0
        rmsNormInto(x, w, 1e-6, slot);
        expectClose(slot, rms, { rtol: 0, atol: 0 });
        expectClose(big.select(0, 0), Tensor.zeros(x.shape), { rtol: 0, atol: 0 });
      }),
      { numRuns: 40 },
    );
    const x = randn([4, 6], 1);
    expect(() => layerNormInto(x, null, null, 1e-5, Tensor.zeros([6, 4]))).toThrow(/layerNormInto: shape mismatch/);
    expect(() => rmsNormInto(x, null, 1e-6, x.transpose().toContiguous().transpose())).toThrow(
      /out must be contiguous/,
    );
    expect(() => rmsNormInto(x.narrow(1, 0, 3), null, 1e-6, new Tensor(x.data, [4, 3]))).toThrow(/overlaps an input/);
  });

  it('names the op and shapes when the weight does not fit', () => {
    expect(() => layerNorm(Tensor.zeros([2, 4]), Tensor.zeros([3]), null)).toThrow(
      /layerNorm: shape mismatch \[2, 4\] vs \[3\]/,
    );
    expect(() => rmsNorm(Tensor.zeros([2, 4]), Tensor.zeros([4, 1]))).toThrow(
      /rmsNorm: shape mismatch \[2, 4\] vs \[4, 1\]/,
    );
  });

  it('layerNorm of a constant row is the bias (no NaN)', () => {
    const y = layerNorm(Tensor.full([1, 5], 3), Tensor.full([5], 2), Tensor.full([5], 0.5));
    expectClose(y, [0.5, 0.5, 0.5, 0.5, 0.5]);
  });
});

describe('applyRotary', () => {
  it('matches the literal rotate_half construction', () => {
    const arbCase = fc
      .tuple(fc.integer({ min: 1, max: 3 }), arbDim(11), fc.integer({ min: 1, max: 9 }))
      .chain(([B, T, h]) => fc.tuple(arbAnyLayout([B, T, 2 * h]), arbAnyLayout([T, 2 * h]), arbAnyLayout([T, 2 * h])));
    fc.assert(
      fc.property(arbCase, ([x, c, s]) => {
        expectClose(applyRotary(x, c, s), refRotary(x, c, s), { rtol: 1e-5, atol: 1e-6 });
      }),
      { numRuns: 60 },
    );
  });

  it('rejects odd head dims and mismatched tables', () => {
    expect(() => applyRotary(Tensor.zeros([2, 3]), Tensor.zeros([2, 3]), Tensor.zeros([2, 3]))).toThrow(/even/);
    expect(() => applyRotary(Tensor.zeros([2, 4]), Tensor.zeros([3, 4]), Tensor.zeros([2, 4]))).toThrow(
      /applyRotary: .*\[2, 4\] vs \[3, 4\].*cos/,
    );
  });
});

describe('embedding', () => {
  it('matches the reference for random tables (any layout) and ids', () => {
    const arbCase = fc
      .tuple(arbDim(31), arbDim(17))
      .chain(([V, D]) =>
        fc.tuple(arbAnyLayout([V, D]), fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 0, maxLength: 40 })),
      );
    fc.assert(
      fc.property(arbCase, ([table, ids]) => {
        const i32 = Int32Array.from(ids);
        expectClose(embedding(table, i32), refEmbedding(table, i32), { atol: 0, rtol: 0 });
        expectClose(embedding(table, ids), refEmbedding(table, ids), { atol: 0, rtol: 0 });
      }),
      { numRuns: 60 },
    );
  });

  it('gathers rows of contiguous and transposed tables', () => {
    const t = randn([7, 5], 1);
    const ids = Int32Array.from([3, 0, 6, 3]);
    expectClose(embedding(t, ids), refEmbedding(t, ids), { atol: 0, rtol: 0 });
    const tt = randn([5, 7], 2).transpose();
    expectClose(embedding(tt, ids), refEmbedding(tt, ids), { atol: 0, rtol: 0 });
  });

  it('names the bad id and its position', () => {
    expect(() => embedding(Tensor.zeros([4, 2]), [1, 4])).toThrow(
      /embedding: token id 4 at position 1 is out of range for a vocabulary of 4/,
    );
    expect(() => embedding(Tensor.zeros([4, 2]), [-1])).toThrow(/token id -1/);
  });
});
