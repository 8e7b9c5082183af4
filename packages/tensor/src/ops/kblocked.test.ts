import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { HalfTensor } from '../half.js';
import { setKBlockForTests } from '../kblocked.js';
import { packWeight } from '../packed.js';
import { shutdownPool } from '../parallel/pool.js';
import type { Tensor } from '../tensor.js';
import { randn } from '../testing/index.js';
import { arenaLiveBytes, arenaMemory } from '../wasm/arena.js';
import { makeResident, releaseResident, residentAs } from '../wasm/resident.js';
import { simdSupported } from '../wasm/runtime.js';
import { linear, linearGroup } from './matmul.js';
import { setGemmReadsWRows } from './matmul_dispatch.js';

const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
  setGemmReadsWRows(true);
  setKBlockForTests();
});
afterAll(() => shutdownPool());

const can = simdSupported() && arenaMemory() !== null;
const bits = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(t.values()).buffer));

/** A 16-bit W [n, k] (row-major, not resident), f16 with an Inf in row `inf` when inf >= 0. */
function weight(n: number, k: number, dtype: 'bf16' | 'f16', seed: number, inf = -1): HalfTensor {
  const w = randn([n, k], seed, 0.1);
  if (inf >= 0 && inf < n) w.data[inf * k + (seed % k)] = Number.POSITIVE_INFINITY;
  return HalfTensor.fromFloat32(w, dtype);
}

describe.skipIf(!can)('k-blocked resident 16-bit weights (long rows)', () => {
  it('decode and prefill give the bits of the row-major weight: any rows, k, block; 1 and 2 threads', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }), // n (W rows)
        fc.integer({ min: 1, max: 40 }), // k / 16
        fc.constantFrom(1, 2, 3, 5, 16), // block / 16 (256: the gemm's KC)
        fc.constantFrom(1, 2, 3, 4, 7), // x rows (7: prefill, the gemm)
        fc.constantFrom('bf16', 'f16'),
        fc.boolean(), // a bias
        fc.integer({ min: -3, max: 40 }), // f16: a row with an Inf (the finite-only kernels' rerun)
        fc.nat(1000),
        (n, k16, kb16, rows, dtype, withBias, inf, seed) => {
          const [k, kb] = [16 * k16, 16 * kb16];
          setKBlockForTests(kb, 0);
          const w = weight(n, k, dtype, seed, dtype === 'f16' ? inf : -1);
          const x = randn([rows, k], seed + 1);
          const b = withBias ? randn([n], seed + 2) : null;
          setBackend('wasm');
          setThreads(1);
          const want = bits(linear(x, w, b));
          const r = [makeResident(w) as HalfTensor, residentAs(w, dtype)!];
          try {
            for (const h of r) {
              expect(h.kBlock).toBe(k > kb ? kb : 0);
              expect(bits(h.toFloat32())).toEqual(bits(w.toFloat32()));
              for (const t of [1, 2]) {
                setThreads(t);
                expect(bits(linear(x, h, b))).toEqual(want);
              }
            }
            if (rows > 4) {
              setGemmReadsWRows(false); // the panel-packing gemm
              expect(bits(linear(x, r[0]!, b))).toEqual(bits(linear(x, w, b)));
            }
            setBackend('js');
            expect(bits(linear(x, r[0]!, b))).toEqual(bits(linear(x, w, b)));
          } finally {
            for (const h of r) releaseResident(h);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(arenaLiveBytes()).toBe(0);
  });

  it('prefill with blocks of whole gemm k blocks (KC = 256), both gemms, 1 and 2 threads: the row-major bits', () => {
    setBackend('wasm');
    setKBlockForTests(256, 0);
    for (const [n, k, rows, dtype] of [
      [150, 1328, 7, 'bf16'],
      [37, 784, 40, 'f16'],
      [300, 512, 9, 'bf16'],
    ] as const) {
      const w = weight(n, k, dtype, n + k);
      const r = makeResident(w) as HalfTensor;
      try {
        expect(r.kBlock).toBe(256);
        const x = randn([rows, k], 4);
        const b = randn([n], 5);
        const want = bits(linear(x, w, b));
        for (const gw of [true, false])
          for (const t of [1, 2]) {
            setGemmReadsWRows(gw);
            setThreads(t);
            expect(bits(linear(x, r, b))).toEqual(want);
          }
      } finally {
        releaseResident(r);
      }
    }
  });

  it('a group of k-blocked weights (q/k/v, gate/up) gives the bits of separate calls; a packed copy is the same', () => {
    setBackend('wasm');
    setKBlockForTests(48, 0);
    const k = 160;
    const ws = [70, 33, 129].map((n, i) => weight(n, k, 'bf16', i + 5));
    const rs = ws.map((w) => makeResident(w) as HalfTensor);
    setKBlockForTests(); // k = 160: row-major by default
    const mixed = [rs[0]!, makeResident(ws[1]!) as HalfTensor]; // one k-blocked, one row-major: separate calls
    try {
      expect(rs.map((r) => r.kBlock)).toEqual([48, 48, 48]);
      const x = randn([2, k], 3);
      const want = ws.map((w) => bits(linear(x, w)));
      for (const t of [1, 2]) {
        setThreads(t);
        expect(linearGroup(x, rs).map(bits)).toEqual(want);
      }
      expect(mixed[1]!.kBlock).toBe(0);
      expect(linearGroup(x, mixed).map(bits)).toEqual([want[0], want[1]]);
      expect(bits(packWeight(rs[0]!, 'sparse').toFloat32())).toEqual(bits(packWeight(ws[0]!, 'sparse').toFloat32()));
    } finally {
      for (const r of [...rs, mixed[1]!]) releaseResident(r);
    }
    expect(arenaLiveBytes()).toBe(0);
  });
});
