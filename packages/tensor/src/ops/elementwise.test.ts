import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { erf, erfSeries } from '../kernels/erf.js';
import { refActivations, refBinary, refUnary } from '../kernels/reference.js';
import { Tensor } from '../tensor.js';
import { arbAnyLayout, arbBroadcastShapes, arbShape, expectClose, randn, stridedView } from '../testing/index.js';
import {
  add,
  addInto,
  div,
  divInto,
  exp,
  gelu,
  mul,
  mulInto,
  neg,
  relu,
  scale,
  sigmoid,
  silu,
  sub,
  subInto,
} from './elementwise.js';

const arbPair = arbBroadcastShapes({ maxRank: 4, maxDim: 9 }).chain(([sa, sb]) =>
  fc.tuple(arbAnyLayout(sa), arbAnyLayout(sb)),
);

describe('binary ops with broadcasting', () => {
  const cases = [
    ['add', add, (x: number, y: number) => x + y],
    ['sub', sub, (x: number, y: number) => x - y],
    ['mul', mul, (x: number, y: number) => x * y],
    ['div', div, (x: number, y: number) => x / y],
  ] as const;
  for (const [name, op, f] of cases) {
    it(`${name} matches the reference on random shapes and strided views`, () => {
      fc.assert(
        fc.property(arbPair, ([a, b]) => {
          expectClose(op(a, b), refBinary(a, b, f), { rtol: 1e-6, atol: 0 });
          expectClose(op(b, a), refBinary(b, a, f), { rtol: 1e-6, atol: 0 });
        }),
        { numRuns: 60 },
      );
    });
  }

  it('matches the reference on large operands (several pool blocks, broadcast and strided)', () => {
    const a = stridedView([5, 4099], { perm: [1, 0], pad: [1, 2], start: [1, 1], step: [1, 1] }, 3);
    const b = randn([4099], 4);
    const c = randn([5, 1], 5);
    expectClose(
      add(a, b),
      refBinary(a, b, (x, y) => x + y),
      { rtol: 1e-6, atol: 0 },
    );
    expectClose(
      mul(c, a),
      refBinary(c, a, (x, y) => x * y),
      { rtol: 1e-6, atol: 0 },
    );
    const d = randn([5, 4099], 6);
    expectClose(sub(d, d.clone()), new Float32Array(5 * 4099), { rtol: 0, atol: 0 });
    expectClose(gelu(a), refUnary(a, refActivations.geluErf), { rtol: 1e-6, atol: 1e-7 });
    expectClose(silu(d), refUnary(d, refActivations.silu), { rtol: 1e-6, atol: 1e-7 });
  });

  it('addInto / subInto / mulInto / divInto equal the allocating ops, into a buffer or in place', () => {
    const ops = [
      [add, addInto],
      [sub, subInto],
      [mul, mulInto],
      [div, divInto],
    ] as const;
    fc.assert(
      fc.property(arbPair, fc.integer({ min: 0, max: 3 }), ([a, b], k) => {
        const [op, into] = ops[k]!;
        const want = op(a, b);
        const out = Tensor.zeros(want.shape);
        expect(into(a, b, out)).toBe(out);
        expectClose(out, want, { rtol: 0, atol: 0 });
        // In place on whichever operand has the full shape; also on a plain (non-shared) buffer.
        for (const [side, t] of [
          ['a', a],
          ['b', b],
        ] as const) {
          if (t.shape.join() !== want.shape.join()) continue;
          for (const plain of [false, true]) {
            const own = plain ? new Tensor(Float32Array.from(t.values()), t.shape) : t.clone();
            const r = side === 'a' ? into(own, b, own) : into(a, own, own);
            expect(r).toBe(own);
            expectClose(own, want, { rtol: 0, atol: 0 });
          }
        }
      }),
      { numRuns: 80 },
    );
  });

  it('the *Into ops check and honour the output buffer', () => {
    const a = randn([3, 4], 1);
    expect(() => addInto(a, a, Tensor.zeros([4, 3]))).toThrow(/addInto: shape mismatch \[3, 4\] vs \[4, 3\]/);
    expect(() => addInto(a, a, Tensor.zeros([4, 3]).transpose())).toThrow(/out must be contiguous/);
    const big = randn([5, 4], 2);
    const view = big.narrow(0, 1, 3); // contiguous with an offset
    addInto(a, 1, view);
    expectClose(view, add(a, 1), { rtol: 0, atol: 0 });
    expectClose(big.narrow(0, 0, 1), randn([5, 4], 2).narrow(0, 0, 1), { rtol: 0, atol: 0 }); // untouched
    const w = randn([4, 4], 3);
    expect(() => mulInto(w.transpose(), w, w)).toThrow(/mulInto: out overlaps an input with a different layout/);
  });

  it('accepts a number as the second operand', () => {
    expectClose(add(Tensor.from([1, 2]), 3), [4, 5]);
    expectClose(div(Tensor.from([1, 2]), 4), [0.25, 0.5]);
  });

  it('names the op and both shapes on mismatch', () => {
    expect(() => add(Tensor.zeros([2, 3]), Tensor.zeros([4]))).toThrow(
      /add: shapes \[2, 3\] and \[4\] cannot be broadcast/,
    );
    expect(() => mul(Tensor.zeros([2, 3]), Tensor.zeros([3, 3]))).toThrow(/mul: .*\[2, 3\].*\[3, 3\]/);
  });
});

describe('unary ops', () => {
  const arbX = arbAnyLayout(arbShape({ maxRank: 3, maxDim: 17 }), { std: 3 });
  const cases = [
    ['neg', neg, (v: number) => -v, 0],
    ['exp', exp, Math.exp, 1e-6],
    ['relu', relu, refActivations.relu, 0],
    ['sigmoid', sigmoid, refActivations.sigmoid, 1e-6],
    ['silu', silu, refActivations.silu, 1e-6],
    ['gelu erf', (x: Tensor) => gelu(x, 'erf'), refActivations.geluErf, 1e-6],
    ['gelu tanh', (x: Tensor) => gelu(x, 'tanh'), refActivations.geluTanh, 1e-6],
    ['scale', (x: Tensor) => scale(x, -0.37), (v: number) => v * -0.37, 1e-7],
  ] as const;
  for (const [name, op, f, rtol] of cases) {
    it(`${name} matches the float64 reference`, () => {
      fc.assert(
        fc.property(arbX, (x) => {
          const y = op(x);
          expect(y.shape).toEqual(x.shape);
          expectClose(y, refUnary(x, f), { rtol, atol: 1e-7 });
        }),
        { numRuns: 40 },
      );
    });
  }

  it('gelu saturates like torch (known values) and propagates NaN', () => {
    // torch.nn.functional.gelu(torch.tensor([-10., -3., -1., 0., 0.5, 1., 3., 10.]))
    const x = Tensor.from([-10, -3, -1, 0, 0.5, 1, 3, 10]);
    const want = [-0, -0.0040496886, -0.15865526, 0, 0.34573123, 0.8413447, 2.9959502, 10];
    expectClose(gelu(x), want, { rtol: 2e-7, atol: 1e-9 });
    expect(Number.isNaN(gelu(Tensor.from([Number.NaN])).data[0])).toBe(true);
    expect(Number.isNaN(relu(Tensor.from([Number.NaN])).data[0])).toBe(true);
    expect(() => gelu(x, 'fast' as 'erf')).toThrow(/gelu: unknown form 'fast'/);
  });
});

describe('erf', () => {
  it('the series matches tabulated values', () => {
    const table: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [5, 0.9999999999984626],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(erfSeries(x) - v)).toBeLessThan(1e-13);
      expect(Math.abs(erfSeries(-x) + v)).toBeLessThan(1e-13);
    }
  });

  it('the fast Chebyshev form stays within 2e-13 of the series everywhere', () => {
    fc.assert(
      fc.property(fc.double({ min: -8, max: 8, noNaN: true }), (x) => {
        expect(Math.abs(erf(x) - erfSeries(x))).toBeLessThan(2e-13);
      }),
      { numRuns: 2000 },
    );
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(Number.isNaN(erf(Number.NaN))).toBe(true);
  });
});
