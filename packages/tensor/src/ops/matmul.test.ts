import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Backend, getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { TensorError } from '../errors.js';
import { refLinear, refMatmul } from '../kernels/reference.js';
import { shutdownPool } from '../parallel/pool.js';
import { Tensor } from '../tensor.js';
import { arbAnyLayout, arbBroadcastShapes, arbDim, expectClose, randn, stridedView } from '../testing/index.js';
import { simdSupported } from '../wasm/runtime.js';
import { linear, linearInto, matmul, matmulInto } from './matmul.js';

const backends: Backend[] = simdSupported() ? ['wasm', 'js'] : ['js'];
const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
});
afterAll(() => shutdownPool());

/** fp32 tolerance for a length-k dot product of O(1) values. */
const tol = (k: number) => ({ rtol: 1e-4, atol: 2e-6 * (k + 4) });

// Dims up to 40 cover 1, primes and sizes that are not multiples of the 4x12 / 3x3 tiles.
const dim = arbDim(40);

describe.each(backends)('matmul (%s)', (backend) => {
  it('2-D, any layout, matches the naive reference', () => {
    setBackend(backend);
    fc.assert(
      fc.property(
        fc.tuple(dim, dim, dim).chain(([m, k, n]) => fc.tuple(arbAnyLayout([m, k]), arbAnyLayout([k, n]))),
        ([a, b]) => {
          expectClose(matmul(a, b), refMatmul(a, b), tol(a.shape[1]!));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('batched with broadcast batch dims and strided operands', () => {
    setBackend(backend);
    const arb = fc
      .tuple(arbBroadcastShapes({ minRank: 0, maxRank: 2, maxDim: 3 }), arbDim(9), arbDim(17), arbDim(13))
      .chain(([[ba, bb], m, k, n]) => fc.tuple(arbAnyLayout([...ba, m, k]), arbAnyLayout([...bb, k, n])));
    fc.assert(
      fc.property(arb, ([a, b]) => {
        expectClose(matmul(a, b), refMatmul(a, b), tol(a.shape[a.ndim - 1]!));
      }),
      { numRuns: 60 },
    );
  });

  it('k larger than one k-block (several accumulation passes)', () => {
    setBackend(backend);
    const a = randn([7, 600], 1);
    const b = stridedView([600, 29], { perm: [1, 0], pad: [1, 2], start: [1, 0], step: [1, 2] }, 2);
    expectClose(matmul(a, b), refMatmul(a, b), tol(600));
  });

  it('empty dims give empty or zero results', () => {
    setBackend(backend);
    expect(matmul(Tensor.zeros([0, 3]), randn([3, 4], 1)).shape).toEqual([0, 4]);
    expect(matmul(randn([2, 3], 1), Tensor.zeros([3, 0])).shape).toEqual([2, 0]);
    expect(matmul(Tensor.full([2, 0], 1), Tensor.full([0, 5], 1)).toArray()).toEqual(new Array(10).fill(0));
  });
});

describe.each(backends)('linear (%s)', (backend) => {
  it('x W^T + b on any layouts of x, W and b matches the naive reference', () => {
    setBackend(backend);
    const arb = fc
      .tuple(fc.array(arbDim(7), { minLength: 0, maxLength: 2 }), dim, dim, fc.boolean())
      .chain(([lead, inF, outF, withBias]) =>
        fc.tuple(
          arbAnyLayout([...lead, inF]),
          arbAnyLayout([outF, inF]),
          withBias ? arbAnyLayout([outF]) : fc.constant(null),
        ),
      );
    fc.assert(
      fc.property(arb, ([x, w, b]) => {
        const y = linear(x, w, b);
        expect(y.shape).toEqual([...x.shape.slice(0, -1), w.shape[0]]);
        expectClose(y, refLinear(x, w, b), tol(w.shape[1]!));
      }),
      { numRuns: 80 },
    );
  });

  it('decode shapes (1-4 rows) use the matvec path and agree with the reference', () => {
    setBackend(backend);
    for (const rows of [1, 2, 3, 4, 5]) {
      const x = randn([rows, 77], rows);
      const w = randn([53, 77], 10 + rows);
      const b = randn([53], 20 + rows);
      expectClose(linear(x, w, b), refLinear(x, w, b), tol(77));
      // a transposed W view ([in, out] storage) is read in place too
      const wt = randn([77, 53], 30 + rows).transpose();
      expectClose(linear(x, wt), refLinear(x, wt), tol(77));
    }
  });
});

describe.each(backends)('*Into (%s)', (backend) => {
  it('write every element of a reused (NaN-filled, offset) output and equal the allocating ops', () => {
    setBackend(backend);
    for (const [rows, inF, outF] of [
      [1, 9, 5],
      [7, 33, 13],
    ] as const) {
      const x = randn([rows, inF], 1);
      const w = randn([outF, inF], 2);
      const b = randn([outF], 3);
      const big = Tensor.full([rows + 2, outF], Number.NaN);
      const out = big.narrow(0, 1, rows); // contiguous, offset outF
      expect(linearInto(x, w, b, out)).toBe(out);
      expect(out.toArray()).toEqual(linear(x, w, b).toArray());
      expect(Number.isNaN(big.get(0, 0)) && Number.isNaN(big.get(rows + 1, outF - 1))).toBe(true);
      const out2 = Tensor.full([rows, outF], Number.NaN);
      expect(matmulInto(x, w.transpose(), out2).toArray()).toEqual(matmul(x, w.transpose()).toArray());
    }
  });

  it('reject a wrong shape, a strided output or one sharing storage with an input', () => {
    setBackend(backend);
    const x = randn([4, 6], 1);
    const w = randn([5, 6], 2);
    expect(() => linearInto(x, w, null, Tensor.zeros([4, 4]))).toThrow(/linear.*\[4, 4\].*\[4, 5\]/);
    expect(() => linearInto(x, w, null, Tensor.zeros([5, 4]).transpose())).toThrow(/linear: output must be contiguous/);
    const a = randn([4, 4], 3);
    expect(() => matmulInto(a, randn([4, 4], 4), a)).toThrow(/matmul: the output must not share storage/);
  });
});

describe('errors', () => {
  it('shape mismatches name the op and both shapes', () => {
    expect(() => matmul(randn([2, 3], 1), randn([4, 5], 1))).toThrow(TensorError);
    expect(() => matmul(randn([2, 3], 1), randn([4, 5], 1))).toThrow(/matmul.*\[2, 3\].*\[4, 5\]/);
    expect(() => matmul(randn([2, 2, 3], 1), randn([3, 3, 5], 1))).toThrow(/matmul.*\[2, 2, 3\].*\[3, 3, 5\]/);
    expect(() => matmul(randn([3], 1), randn([3, 5], 1))).toThrow(/matmul.*\[3\].*\[3, 5\]/);
    expect(() => linear(randn([2, 3], 1), randn([4, 5], 1))).toThrow(/linear.*\[2, 3\].*\[4, 5\]/);
    expect(() => linear(randn([2, 5], 1), randn([4, 5], 1), randn([3], 1))).toThrow(/linear.*\[4, 5\].*\[3\]/);
    expect(() => linear(randn([2, 5], 1), randn([5], 1))).toThrow(/linear.*\[5\]/);
  });
});
