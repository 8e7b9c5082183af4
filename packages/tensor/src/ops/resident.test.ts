import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { encodeBf16, encodeF16 } from '../dtype.js';
import { HalfTensor } from '../half.js';
import { refMatmul } from '../kernels/reference.js';
import { type PackFormat, packWeight } from '../packed.js';
import { shutdownPool } from '../parallel/pool.js';
import type { Tensor } from '../tensor.js';
import { mulberry32, randn } from '../testing/index.js';
import { arenaLiveBytes, arenaMemory } from '../wasm/arena.js';
import {
  enableResidentDecode,
  isResident,
  makeResident,
  releaseResident,
  releaseResidentDecode,
} from '../wasm/resident.js';
import { simdSupported } from '../wasm/runtime.js';
import { linear, matmul } from './matmul.js';

const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
});
afterAll(() => shutdownPool());

const can = simdSupported() && arenaMemory() !== null;

/** A pruned W [n, k]: 2:4 (two smallest |w| of every four zeroed), or a random fraction `s` of zeros. */
function pruned(n: number, k: number, s: number | '2:4', seed: number): Tensor {
  const w = randn([n, k], seed);
  const d = w.data;
  const rand = mulberry32(seed + 1);
  for (let r = 0; r < n; r++)
    for (let g = 0; g < k; g += 4) {
      const idx = [0, 1, 2, 3].filter((i) => g + i < k);
      if (s === '2:4') {
        idx.sort((a, b) => Math.abs(d[r * k + g + a]!) - Math.abs(d[r * k + g + b]!));
        for (const i of idx.slice(0, Math.max(0, idx.length - 2))) d[r * k + g + i] = 0;
      } else for (const i of idx) if (rand() < s) d[r * k + g + i] = 0;
    }
  return w;
}

function half(w: Tensor, dtype: 'bf16' | 'f16'): HalfTensor {
  const bits = new Uint16Array(w.size);
  return new HalfTensor(dtype, dtype === 'bf16' ? encodeBf16(w.data, bits) : encodeF16(w.data, bits), w.shape);
}

const bits = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(t.values()).buffer));

describe.skipIf(!can)('resident weights (read in place by the decode kernels)', () => {
  it('give the bits of the copying kernels: dense f32 / bf16 / f16, 2:4, unstructured; 1 and 2 threads', () => {
    setBackend('wasm');
    const dims = fc.tuple(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 600 }));
    const kinds = fc.constantFrom('f32', 'bf16', 'f16', '2:4', 'sparse');
    fc.assert(
      fc.property(
        dims,
        fc.integer({ min: 1, max: 4 }),
        kinds,
        fc.double({ min: 0, max: 1 }),
        fc.nat(),
        (nk, rows, kind, s, seed) => {
          const [n, k] = [nk[0] * 16 - (seed % 3), nk[1] % 2 ? nk[1] : nk[1] - (nk[1] % 16) + 16];
          const dense = pruned(n, k, kind === '2:4' ? '2:4' : s, seed);
          const w =
            kind === 'f32'
              ? dense
              : kind === 'bf16' || kind === 'f16'
                ? half(dense, kind)
                : packWeight(half(dense, 'bf16'), kind as PackFormat);
          const x = randn([rows, k], seed + 7);
          const r = makeResident(w);
          expect(isResident(r)).toBe(true);
          for (const t of [1, 2]) {
            setThreads(t);
            expect(bits(linear(x, r))).toEqual(bits(linear(x, w)));
          }
          releaseResident(r);
        },
      ),
      { numRuns: 80 },
    );
    expect(arenaLiveBytes()).toBe(0);
  });

  it('decode at the shapes that split across threads (all-zero and fully dense rows included)', () => {
    setBackend('wasm');
    for (const kind of ['2:4', 'sparse', 'bf16'] as const) {
      const dense = pruned(3072, 768, kind === '2:4' ? '2:4' : 0.7, 3);
      dense.data.fill(0, 0, 768 * 5); // all-zero rows
      const w = kind === 'bf16' ? half(dense, 'bf16') : packWeight(half(dense, 'bf16'), kind);
      const r = makeResident(w);
      const x = randn([1, 768], 9);
      setThreads(2);
      const got = linear(x, r);
      expect(bits(got)).toEqual(bits(linear(x, w)));
      expect(Array.from(got.values().subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
      releaseResident(r);
    }
    expect(arenaLiveBytes()).toBe(0);
  });
});

describe.skipIf(!can)('the decode scope', () => {
  it('makes one resident copy of a large weight on its first matrix-vector use and frees it on release', () => {
    setBackend('wasm');
    const w = half(randn([1024, 512], 4), 'bf16'); // 1 MiB: the scope's minimum
    const x = randn([1, 512], 5);
    const want = bits(linear(x, w));
    const before = arenaLiveBytes();
    enableResidentDecode();
    expect(bits(linear(x, w))).toEqual(want);
    const held = arenaLiveBytes() - before;
    expect(held).toBeGreaterThanOrEqual(w.size * 2);
    expect(bits(linear(x, w))).toEqual(want); // the same copy, no new one
    expect(arenaLiveBytes() - before).toBe(held);
    linear(randn([8, 512], 6), w); // prefill rows: no copy
    expect(arenaLiveBytes() - before).toBe(held);
    releaseResidentDecode();
    expect(arenaLiveBytes()).toBe(before);
  });

  it('reuses freed arena blocks (first fit, neighbours merged)', () => {
    const a = makeResident(half(randn([64, 64], 1), 'bf16'));
    const b = makeResident(half(randn([64, 64], 2), 'bf16'));
    const base = arenaLiveBytes();
    releaseResident(a);
    releaseResident(b);
    const c = makeResident(half(randn([128, 64], 3), 'bf16')); // fits in the merged block of a and b
    expect(isResident(c)).toBe(true);
    expect(arenaLiveBytes()).toBeLessThanOrEqual(base);
    releaseResident(c);
  });
});

describe.skipIf(!simdSupported())('few-rows matmul against B read along its rows (axpy kernel)', () => {
  it('matches the naive reference and gives the same bits with 1 or 2 threads', () => {
    setBackend('wasm');
    const sizes = fc.tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 1, max: 900 }),
    );
    fc.assert(
      fc.property(sizes, fc.integer({ min: 1, max: 3 }), fc.nat(), ([m, k, n], batch, seed) => {
        const a = randn([batch, m, k], seed);
        const b = randn([batch, k, n], seed + 1);
        setThreads(1);
        const one = matmul(a, b);
        setThreads(2);
        expect(bits(matmul(a, b))).toEqual(bits(one));
        const ref = refMatmul(a, b);
        for (let i = 0; i < ref.size; i++)
          expect(Math.abs(one.values()[i]! - ref.values()[i]!)).toBeLessThan(1e-5 * (k + 1));
      }),
      { numRuns: 60 },
    );
  });
});
