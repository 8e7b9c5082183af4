/**
 * The row ops wired through the pool (ops/run.ts -> parallelFor): shapes large enough to split give the same
 * bits for 1, 2 and 3 threads, and really take the parallel path.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, setThreads } from '../config.js';
import { softmaxRows } from '../kernels/nn.js';
import { add, gelu, mul, scale, silu, sub } from '../ops/elementwise.js';
import { applyRotary, layerNorm, logSoftmax, rmsNorm, softmax } from '../ops/nn.js';
import { max, sum, variance } from '../ops/reduce.js';
import { runRows } from '../ops/run.js';
import { accumulateXtX, ColumnStats } from '../ops/stats.js';
import { Tensor } from '../tensor.js';
import { randn } from '../testing/random.js';
import { poolInfo, shutdownPool } from './pool.js';

const threads0 = getThreads();
afterAll(async () => {
  setThreads(threads0);
  await shutdownPool();
});

const cases: [string, () => Tensor | Float64Array][] = (() => {
  const x = randn([67, 1999], 1); // softmax: ~1 ms estimated
  const xn = randn([257, 1031], 2);
  const w = randn([1031], 3);
  const b = randn([1031], 4);
  const xr = randn([3, 97, 1024], 5).transpose(0, 1); // a strided view: [97, 3, 1024]
  const cos = randn([3, 1024], 6);
  const sin = randn([3, 1024], 7);
  const xs = randn([5, 301, 700], 8);
  const xq = randn([300, 257], 9);
  const xc = randn([2000, 301], 10);
  const e1 = randn([400, 1001], 11);
  const e2 = randn([400, 1001], 12);
  const bias = randn([1001], 13);
  const col = randn([1, 400, 1], 14);
  const et = randn([1001, 400], 15).transpose(); // [400, 1001] strided
  return [
    ['softmax causal', () => softmax(x, { causal: true })],
    ['logSoftmax', () => logSoftmax(x)],
    ['layerNorm', () => layerNorm(xn, w, b)],
    ['rmsNorm', () => rmsNorm(xn, w)],
    ['applyRotary (strided)', () => applyRotary(xr, cos, sin)],
    ['sum axis 1', () => sum(xs, 1)],
    ['max axis 1', () => max(xs, 1)],
    ['variance axis 1', () => variance(xs, 1)],
    ['gelu erf', () => gelu(e1)],
    ['silu (strided)', () => silu(et)],
    ['scale', () => scale(xc, 0.37)],
    ['add dense', () => add(e1, e2)],
    ['add bias broadcast', () => add(e1, bias)],
    ['mul strided', () => mul(e1, et)],
    ['sub leading unit axes', () => sub(e1.reshape([1, 400, 1001]), col)],
    [
      'accumulateXtX',
      () => {
        const h = new Float64Array(257 * 257).fill(0.5);
        accumulateXtX(h, xq, 0.25);
        return h;
      },
    ],
    [
      'ColumnStats.update',
      () => {
        const st = new ColumnStats(301).update(xc).update(xc.narrow(0, 3, 1500));
        return Float64Array.from([...st.sum, ...st.sumsq, ...st.M2, ...st.mean(), ...st.variance()]);
      },
    ],
  ];
})();

type Result = Tensor | Float64Array;
const bits = (r: Result) =>
  r instanceof Tensor ? new Int32Array(r.values().slice().buffer) : new Int32Array(r.slice().buffer);
const isNaNAt = (r: Result, i: number) => {
  const v = r instanceof Tensor ? r.values()[i]! : r[i >> 1]!;
  return Number.isNaN(v);
};
const shapeOf = (r: Result) => (r instanceof Tensor ? r.shape : [r.length]);

/** Index (in 32-bit words) of the first differing bit pattern (NaN equals NaN), or -1. */
function firstDiff(a: Result, b: Result): number {
  const ia = bits(a);
  const ib = bits(b);
  if (ia.length !== ib.length) return 0;
  for (let i = 0; i < ia.length; i++) if (ia[i] !== ib[i] && !(isNaNAt(a, i) && isNaNAt(b, i))) return i;
  return -1;
}

describe('row ops on the pool', () => {
  it('give identical bits for 1, 2 and 3 threads and really split across workers', () => {
    setThreads(1);
    const refs = cases.map(([, run]) => run());
    for (const t of [2, 3]) {
      setThreads(t); // resize once per thread count, not per case
      cases.forEach(([name, run], i) => {
        const before = poolInfo().parallelCalls;
        const out = run();
        expect(poolInfo().parallelCalls, `${name} at ${t} threads took the parallel path`).toBeGreaterThan(before);
        expect(shapeOf(out)).toEqual(shapeOf(refs[i]!));
        expect(firstDiff(out, refs[i]!), `${name} at ${t} threads: first differing element`).toBe(-1);
      });
    }
  });
});

describe('runRows', () => {
  it('refuses a kernel that is not registered under the given name (workers would run something else)', () => {
    const args = { x: new Float32Array(4), xOff: 0, out: new Float32Array(4), cols: 4, causalT: 0, log: 0 };
    expect(() => runRows('nn.layerNorm', softmaxRows, args, 1, 10)).toThrow(
      "runRows: kernel 'nn.layerNorm' is not registered under that name in kernels/registry.ts",
    );
    expect(() => runRows('nn.nope', softmaxRows, args, 1, 10)).toThrow("kernel 'nn.nope' is not registered");
    runRows('nn.softmax', softmaxRows, args, 1, 10);
    expect([...args.out]).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
});
