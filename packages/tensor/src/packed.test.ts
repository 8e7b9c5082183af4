import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Backend, getBackend, getThreads, setBackend, setThreads } from './config.js';
import { TensorError } from './errors.js';
import { type HalfDtype, HalfTensor } from './half.js';
import { refLinear } from './kernels/reference.js';
import { linear, linearInto } from './ops/matmul.js';
import { PackedWeight, type PackFormat, packWeight } from './packed.js';
import { poolInfo, shutdownPool } from './parallel/pool.js';
import { sharedMemoryAvailable } from './storage.js';
import { Tensor } from './tensor.js';
import { arbAnyLayout, arbDim, expectClose, mulberry32, randn } from './testing/index.js';
import { simdSupported } from './wasm/runtime.js';

const backends: Backend[] = simdSupported() ? ['wasm', 'js'] : ['js'];
const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
});
afterAll(() => shutdownPool());

type Dtype = 'f32' | HalfDtype;

/**
 * A pruned W [n, k]: 2:4 keeps 0-2 of each group of 4 (the largest); 'sparse' zeroes each weight with
 * probability `sparsity`. Every third seed zeroes whole rows. Values are rounded to `dtype`.
 */
function pruned(n: number, k: number, format: PackFormat, sparsity: number, seed: number, dtype: Dtype) {
  const w = randn([n, k], seed, 0.5);
  const r = mulberry32(seed + 1);
  for (let j = 0; j < n; j++) {
    const zeroRow = seed % 3 === 0 && r() < 0.3;
    for (let g = 0; g < k; g += 4) {
      const cols = [0, 1, 2, 3].map((p) => g + p).filter((c) => c < k);
      if (format === '2:4') {
        const keep = Math.floor(r() * 3);
        cols.sort((a, b) => Math.abs(w.data[j * k + b]!) - Math.abs(w.data[j * k + a]!));
        for (const c of cols.slice(keep)) w.data[j * k + c] = 0;
      } else for (const c of cols) if (r() < sparsity) w.data[j * k + c] = 0;
      if (zeroRow) for (const c of cols) w.data[j * k + c] = 0;
    }
  }
  const h = dtype === 'f32' ? w : HalfTensor.fromFloat32(w, dtype);
  return { w: h, dense: h instanceof HalfTensor ? h.toFloat32() : w };
}

const tol = (k: number) => ({ rtol: 1e-4, atol: 2e-6 * (k + 4) });
const formats: PackFormat[] = ['2:4', 'sparse'];

describe('packWeight', () => {
  it('round-trips to the dense weight exactly, any format and dtype', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...formats),
        fc.constantFrom<Dtype>('f32', 'bf16', 'f16'),
        arbDim(40),
        arbDim(600),
        fc.constantFrom(0, 0.5, 0.7, 0.95, 1),
        fc.nat(1000),
        (format, dtype, n, k, sp, seed) => {
          const { w, dense } = pruned(n, k, format, sp, seed, dtype);
          const p = packWeight(w, format);
          expect(p.dtype).toBe(dtype);
          expect(p.shape).toEqual([n, k]);
          expect(Array.from(p.toFloat32().data)).toEqual(Array.from(dense.data, (v) => v + 0));
          expect(p.nnz).toBe(dense.data.filter((v) => v !== 0).length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps every array in shared storage where there is one (a plain buffer makes pool jobs copy)', () => {
    for (const format of formats) {
      const p = packWeight(pruned(8, 40, format, 0.5, 1, 'bf16').w, format);
      for (const a of [p.values, p.index, p.quads, p.rowStart])
        expect(a.buffer instanceof SharedArrayBuffer).toBe(sharedMemoryAvailable);
    }
  });

  it('rejects a weight that is not 2:4, a 1-d weight and an unknown format', () => {
    const w = Tensor.from([1, 2, 0, 0, 1, 1, 1, 0], [2, 4]);
    expect(() => packWeight(w, '2:4')).toThrow(TensorError);
    expect(() => packWeight(w, '2:4')).toThrow(/not 2:4 sparse: row 1, columns 0..3 hold 3 nonzeros/);
    expect(() => packWeight(Tensor.from([1, 2]), 'sparse')).toThrow(/2-d/);
    expect(() => packWeight(w, '4:8' as PackFormat)).toThrow(/unknown format '4:8'/);
    expect(packWeight(w, 'sparse')).toBeInstanceOf(PackedWeight);
  });

  it('stores 2:4 bf16 in 1.125 bytes per weight and 50% unstructured bf16 in about 1.5', () => {
    const a = packWeight(pruned(64, 1024, '2:4', 0, 1, 'bf16').w, '2:4');
    expect(a.bytes).toBe(64 * 1024 * 1.125);
    const b = packWeight(pruned(64, 1024, 'sparse', 0.5, 2, 'bf16').w, 'sparse');
    expect(b.bytes / (64 * 1024)).toBeGreaterThan(1.45);
    expect(b.bytes / (64 * 1024)).toBeLessThan(1.65);
  });
});

describe.each(backends)('linear with a packed weight (%s)', (backend) => {
  it('matches the naive reference on the dense weight: decode and prefill rows, odd shapes, any x layout', () => {
    setBackend(backend);
    const arb = fc
      .tuple(
        fc.constantFrom(...formats),
        fc.constantFrom<Dtype>('f32', 'bf16', 'f16'),
        fc.oneof(arbDim(4), arbDim(70)),
        arbDim(600),
        arbDim(70),
        fc.constantFrom(0, 0.5, 0.7, 0.95, 1),
        fc.boolean(),
        fc.nat(1000),
      )
      .chain(([format, dtype, rows, k, n, sp, withBias, seed]) =>
        fc.tuple(
          fc.constant({ format, ...pruned(n, k, format, sp, seed, dtype) }),
          arbAnyLayout([rows, k]),
          withBias ? arbAnyLayout([n]) : fc.constant(null),
        ),
      );
    fc.assert(
      fc.property(arb, ([{ format, w, dense }, x, b]) => {
        const y = linear(x, packWeight(w, format), b);
        expect(y.shape).toEqual([x.shape[0], dense.shape[0]]);
        expectClose(y, refLinear(x, dense, b), tol(dense.shape[1]!));
      }),
      { numRuns: 80 },
    );
  });

  it('all-zero weights give the bias; leading dims and linearInto work', () => {
    setBackend(backend);
    for (const format of formats) {
      const p = packWeight(Tensor.zeros([37, 29]), format);
      expect(p.nnz).toBe(0);
      const b = randn([37], 3);
      for (const rows of [1, 9]) {
        const y = linear(randn([rows, 29], 1), p, b);
        for (let i = 0; i < rows; i++)
          expect(Array.from(y.data.subarray(i * 37, (i + 1) * 37))).toEqual(Array.from(b.data));
      }
      const { w, dense } = pruned(21, 50, format, 0.5, 4, 'bf16');
      const x = randn([2, 3, 50], 5);
      const out = Tensor.full([2, 3, 21], Number.NaN);
      expect(linearInto(x, packWeight(w, format), null, out)).toBe(out);
      expectClose(out, refLinear(x, dense, null), tol(50));
      expect(() => linear(randn([2, 49], 1), p)).toThrow(/linear.*\[2, 49\].*\[37, 29\]/);
    }
  });

  it('gives identical bits on 1 and 2 threads (the pool really splits)', () => {
    setBackend(backend);
    for (const format of formats) {
      const p = packWeight(pruned(2053, 1500, format, 0.6, 7, 'bf16').w, format);
      for (const rows of [1, 3, 40]) {
        const x = randn([rows, 1500], 8);
        setThreads(1);
        const one = linear(x, p).data.slice();
        setThreads(2);
        const before = poolInfo().parallelCalls;
        const two = linear(x, p).data;
        expect(poolInfo().parallelCalls).toBe(before + 1);
        expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
      }
    }
  });
});
