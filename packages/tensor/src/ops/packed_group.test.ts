import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { HalfTensor } from '../half.js';
import { refMatmul } from '../kernels/reference.js';
import { type PackedWeight, packWeight } from '../packed.js';
import { poolInfo, shutdownPool } from '../parallel/pool.js';
import type { Tensor } from '../tensor.js';
import { randn } from '../testing/index.js';
import { arenaMemory } from '../wasm/arena.js';
import { packResident, releaseResident } from '../wasm/resident.js';
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

/** A pruned copy of w: 2 of every 4 inputs zeroed ('2:4'), or each weight zeroed with probability p. */
function prune(w: Tensor, how: '2:4' | number, seed: number): Tensor {
  const d = w.values();
  let s = seed >>> 0;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  if (how === '2:4')
    for (let i = 0; i + 4 <= d.length; i += 4) {
      const a = Math.floor(rnd() * 4);
      d[i + a] = 0;
      d[i + ((a + 1 + Math.floor(rnd() * 3)) % 4)] = 0;
    }
  else for (let i = 0; i < d.length; i++) if (rnd() < how) d[i] = 0;
  return w;
}

describe.skipIf(!can)('linearGroup over packed weights', () => {
  it('gives the bits of separate linear calls: 2:4 / unstructured, f32 / bf16 / f16, any rows; 1 and 2 threads', () => {
    setBackend('wasm');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }), // rows (above 4: not the decode path)
        fc.constantFrom(16, 48, 64, 96, 40, 600), // k (its multiple of 4 for 2:4)
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }), // n of each weight
        fc.constantFrom('f32', 'bf16', 'f16'),
        fc.constantFrom('2:4', 0, 0.5, 0.9, 1), // pruning (0: every weight kept; 1: all zero)
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), // bias per weight
        fc.integer({ min: 0, max: 1000 }),
        (rows, k, ns, kind, how, withBias, seed) => {
          const x = randn([rows, k], seed);
          const format = how === '2:4' ? '2:4' : 'sparse';
          const ws = ns.map((n, i) => {
            const w = prune(randn([n, k], seed + 10 + i, 0.1), how, seed + i);
            return packResident(kind === 'f32' ? w : HalfTensor.fromFloat32(w, kind), format);
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

  it('splits one call over all the outputs (q/k/v of a decode step), close to the dense reference', () => {
    setBackend('wasm');
    setThreads(2);
    const k = 1024;
    for (const how of ['2:4', 0.7] as const) {
      const dense = [512, 512, 128].map((n, i) => prune(randn([n, k], i + 1, 0.05), how, i));
      const ws = dense.map((w) => packResident(HalfTensor.fromFloat32(w, 'bf16'), how === '2:4' ? '2:4' : 'sparse'));
      const bias = randn([512], 9);
      const x = randn([1, k], 7);
      try {
        const before = poolInfo().parallelCalls;
        const outs = linearGroup(x, ws, [bias, null, null]);
        expect(poolInfo().parallelCalls - before).toBe(1);
        ws.forEach((w, i) => {
          const y = refMatmul(x, (w as PackedWeight).toFloat32().transpose());
          if (i === 0) for (let j = 0; j < 512; j++) y.data[j]! += bias.data[j]!;
          const o = outs[i]!.data;
          for (let j = 0; j < y.data.length; j++)
            expect(Math.abs(o[j]! - y.data[j]!)).toBeLessThan(1e-4 * (1 + Math.abs(y.data[j]!)));
        });
      } finally {
        for (const w of ws) releaseResident(w);
      }
    }
  });

  it('runs mixed formats, and weights that are not resident, as separate calls', () => {
    setBackend('wasm');
    setThreads(2);
    const x = randn([1, 1024], 1);
    const w = prune(randn([512, 1024], 2), '2:4', 3);
    const mixed = [packResident(w, '2:4'), packResident(w, 'sparse')];
    const plain = [packWeight(w, '2:4'), packWeight(w, '2:4')];
    try {
      for (const ws of [mixed, plain]) {
        const want = ws.map((p) => bits(linear(x, p)));
        const before = poolInfo().parallelCalls;
        expect(linearGroup(x, ws).map(bits)).toEqual(want);
        if (ws === mixed) expect(poolInfo().parallelCalls - before).toBe(2);
      }
    } finally {
      for (const p of mixed) releaseResident(p);
    }
  });
});
