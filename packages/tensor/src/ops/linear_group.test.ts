import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { HalfTensor } from '../half.js';
import { refMatmul } from '../kernels/reference.js';
import { packWeight } from '../packed.js';
import { poolInfo, shutdownPool } from '../parallel/pool.js';
import type { Tensor } from '../tensor.js';
import { randn } from '../testing/index.js';
import { arenaMemory } from '../wasm/arena.js';
import { makeResident, releaseResident } from '../wasm/resident.js';
import { simdSupported } from '../wasm/runtime.js';
import { linear, linearGroup } from './matmul.js';

const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
});
afterAll(() => shutdownPool());

const can = simdSupported() && arenaMemory() !== null;
const bits = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(t.values()).buffer));

describe.skipIf(!can)('linearGroup', () => {
  it('gives the bits of separate linear calls: f32 / bf16 / f16, resident or not, any rows; 1 and 2 threads', () => {
    setBackend('wasm');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }), // rows (above 4: not the decode path)
        fc.constantFrom(16, 48, 64, 96, 40), // k (40: not a multiple of 16, so not fused)
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }), // n of each weight
        fc.constantFrom('f32', 'bf16', 'f16'),
        fc.boolean(), // resident
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), // bias per weight
        fc.integer({ min: 0, max: 1000 }),
        (rows, k, ns, kind, resident, withBias, seed) => {
          const x = randn([rows, k], seed);
          const dense = ns.map((n, i) => randn([n, k], seed + 10 + i, 0.1));
          const ws = dense.map((w) => {
            const t = kind === 'f32' ? w : HalfTensor.fromFloat32(w, kind);
            return resident ? makeResident(t) : t;
          });
          const bs = ns.map((n, i) => (withBias[i] ? randn([2 * n], seed + 20 + i).narrow(0, 0, n) : null));
          try {
            const want = ws.map((w, i) => bits(linear(x, w, bs[i])));
            for (const t of [1, 2]) {
              setThreads(t);
              const got = linearGroup(x, ws, bs);
              expect(got.map((o) => o.shape)).toEqual(ns.map((n) => [rows, n]));
              expect(got.map(bits)).toEqual(want);
            }
          } finally {
            for (const w of ws) releaseResident(w);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('splits one call over all the outputs on the pool (q/k/v of a decode step)', () => {
    setBackend('wasm');
    setThreads(2);
    const k = 512;
    const dense = [512, 512, 128].map((n, i) => randn([n, k], i + 1, 0.05));
    const ws = dense.map((w) => makeResident(HalfTensor.fromFloat32(w, 'bf16')));
    const bias = randn([512], 9);
    const x = randn([1, k], 7);
    try {
      const before = poolInfo().parallelCalls;
      const [q, kk, v] = linearGroup(x, ws, [bias, null, null]);
      expect(poolInfo().parallelCalls - before).toBe(1);
      // against the naive reference on the widened weights (float rounding only)
      const ref = ws.map((w, i) => {
        const y = refMatmul(x, (w as HalfTensor).toFloat32().transpose());
        if (i === 0) for (let j = 0; j < 512; j++) y.data[j]! += bias.data[j]!;
        return y;
      });
      for (const [i, o] of [q!, kk!, v!].entries()) {
        const r = ref[i]!.data;
        for (let j = 0; j < r.length; j++)
          expect(Math.abs(o.data[j]! - r[j]!)).toBeLessThan(1e-4 * (1 + Math.abs(r[j]!)));
      }
    } finally {
      for (const w of ws) releaseResident(w);
    }
  });

  it('runs packed weights and mismatched groups as separate calls, and reports bad shapes as linear does', () => {
    setBackend('wasm');
    const x = randn([1, 32], 1);
    const w = randn([16, 32], 2);
    const p = packWeight(w, 'sparse');
    expect(linearGroup(x, [w, p]).map(bits)).toEqual([bits(linear(x, w)), bits(linear(x, p))]);
    expect(() => linearGroup(x, [w, randn([16, 31], 3)])).toThrow('input features differ');
    expect(() => linearGroup(x, [w, w], [null, randn([15], 4)])).toThrow('bias must be [16]');
  });
});
