import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { HalfTensor } from '../half.js';
import { refLinear } from '../kernels/reference.js';
import { type PackFormat, packWeight } from '../packed.js';
import { shutdownPool } from '../parallel/pool.js';
import type { Tensor } from '../tensor.js';
import { expectClose, mulberry32, randn } from '../testing/index.js';
import { arenaLiveBytes, arenaMemory } from '../wasm/arena.js';
import { isResident, makeResident, packResident, releaseResident } from '../wasm/resident.js';
import { simdSupported } from '../wasm/runtime.js';
import { linear } from './matmul.js';

const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
});
afterAll(() => shutdownPool());

const can = simdSupported() && arenaMemory() !== null;
type Dtype = 'f32' | 'bf16' | 'f16';

/** W [n, k] pruned 2:4 (0-2 kept per group of 4) or to a fraction `s` of zeros; `zeroRows` leading rows zero. */
function pruned(n: number, k: number, format: PackFormat, s: number, seed: number, zeroRows = 0): Tensor {
  const w = randn([n, k], seed, 0.5);
  const r = mulberry32(seed + 1);
  for (let j = 0; j < n; j++)
    for (let g = 0; g < k; g += 4) {
      const cols = [0, 1, 2, 3].map((p) => g + p).filter((c) => c < k);
      const drop = format === '2:4' ? cols.filter((_, i) => i >= Math.floor(r() * 3)) : cols.filter(() => r() < s);
      for (const c of j < zeroRows ? cols : drop) w.data[j * k + c] = 0;
    }
  return w;
}

const typed = (w: Tensor, dtype: Dtype) => (dtype === 'f32' ? w : HalfTensor.fromFloat32(w, dtype));
const dense = (w: Tensor | HalfTensor) => (w instanceof HalfTensor ? w.toFloat32() : w);
const bits = (t: Tensor) => Buffer.from(Float32Array.from(t.values()).buffer);
const tol = (k: number) => ({ rtol: 1e-4, atol: 2e-6 * (k + 4) });

describe.skipIf(!can)('packed prefill (x rows > 4) over resident weights', () => {
  it('reads W in place with the bits of the copying kernel; equals the naive reference; 1 and 2 threads', () => {
    setBackend('wasm');
    const arb = fc.record({
      format: fc.constantFrom<PackFormat>('2:4', 'sparse'),
      dtype: fc.constantFrom<Dtype>('f32', 'bf16', 'f16'),
      n: fc.integer({ min: 1, max: 90 }),
      k: fc.integer({ min: 1, max: 700 }),
      rows: fc.integer({ min: 5, max: 60 }),
      s: fc.constantFrom(0, 0.5, 0.8, 1),
      bias: fc.boolean(),
      seed: fc.nat(10000),
    });
    fc.assert(
      fc.property(arb, ({ format, dtype, n, k, rows, s, bias, seed }) => {
        const w = typed(pruned(n, k, format, s, seed), dtype);
        const p = packWeight(w, format);
        const r = makeResident(p);
        const x = randn([rows, k], seed + 2);
        const b = bias ? randn([n], seed + 3) : null;
        setThreads(1);
        const copied = linear(x, p, b);
        const one = linear(x, r, b);
        setThreads(2);
        const two = linear(x, r, b);
        expect(bits(one).equals(bits(copied))).toBe(true);
        expect(bits(two).equals(bits(one))).toBe(true);
        expectClose(one, refLinear(x, dense(w), b), tol(k));
        releaseResident(r);
      }),
      { numRuns: 60 },
    );
    expect(arenaLiveBytes()).toBe(0);
  });

  it('splits tokens into chunks and W rows into chunks (long prompts, many empty rows, strided x)', () => {
    setBackend('wasm');
    for (const format of ['2:4', 'sparse'] as const) {
      // 2600 rows, the first 2100 empty: unstructured chunks are capped by rows, not bytes
      const w = typed(pruned(2600, 36, format, 0.6, 5, 2100), 'bf16');
      const p = packWeight(w, format);
      const r = makeResident(p);
      const x = randn([36, 270], 6).transpose(0, 1); // [270 tokens, 36]: inputs strided
      const b = randn([2600], 7);
      setThreads(2);
      const got = linear(x, r, b);
      expect(bits(got).equals(bits(linear(x, p, b)))).toBe(true);
      expectClose(got, refLinear(x, dense(w), b), tol(36));
      releaseResident(r);
    }
    expect(arenaLiveBytes()).toBe(0);
  });
});

describe.skipIf(!can)('packResident', () => {
  it('packs straight into the arena: the arrays and results of makeResident(packWeight), all freed on release', () => {
    setBackend('wasm');
    const before = arenaLiveBytes();
    for (const format of ['2:4', 'sparse'] as const)
      for (const dtype of ['f32', 'bf16', 'f16'] as const) {
        const w = typed(pruned(53, 301, format, 0.7, 11), dtype);
        const want = makeResident(packWeight(w, format));
        const got = packResident(w, format);
        expect(isResident(got)).toBe(true);
        for (const key of ['values', 'index', 'quads', 'rowStart', 'rowPtr'] as const)
          expect(Array.from(got[key] ?? [])).toEqual(Array.from(want[key] ?? []));
        expect(got.nnz).toBe(want.nnz);
        for (const rows of [1, 9]) {
          const x = randn([rows, 301], 12);
          expect(bits(linear(x, got)).equals(bits(linear(x, want)))).toBe(true);
        }
        releaseResident(got);
        releaseResident(want);
      }
    expect(arenaLiveBytes()).toBe(before);
  });
});
