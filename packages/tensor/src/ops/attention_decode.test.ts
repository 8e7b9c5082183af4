import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, setThreads } from '../config.js';
import { fastExp } from '../kernels/exp.js';
import { poolInfo, shutdownPool } from '../parallel/pool.js';
import { expectClose, mulberry32 } from '../testing/index.js';
import { arenaAlloc, arenaFree, arenaMemory, arenaScratch, arenaViews } from '../wasm/arena.js';
import { EXP_FLOOR } from '../wasm/attn_emit.js';
import { attnWasm } from '../wasm/attn_runtime.js';
import { simdSupported } from '../wasm/runtime.js';
import { type DecodeAttentionSpec, decodeAttention, decodeAttentionSupported } from './attention_decode.js';

/**
 * Naive reference in float64: plain loops over rows, heads, keys and lanes. Also returns the largest |score|
 * (a float32 score carries an error of about |score| 2^-24, which the softmax turns into a relative one).
 */
function naive(
  q: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  s: DecodeAttentionSpec,
): { out: Float64Array; sMax: number } {
  const { heads: H, kvHeads: KV, headDim: D, maxLen: L, length: len } = s;
  const T = q.length / (H * D);
  const out = new Float64Array(q.length);
  let sMax = 0;
  for (let t = 0; t < T; t++) {
    const pos = len - T + t;
    const lo = s.window ? Math.max(0, pos - s.window + 1) : 0;
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV));
      const sc: number[] = [];
      for (let j = lo; j <= pos; j++) {
        let d = 0;
        for (let i = 0; i < D; i++) d += q[(t * H + h) * D + i]! * keys[(g * L + j) * D + i]!;
        sc.push(d);
        sMax = Math.max(sMax, Math.abs(d));
      }
      const mx = Math.max(...sc);
      const e = sc.map((x) => Math.exp(x - mx));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let j = lo; j <= pos; j++)
        for (let i = 0; i < D; i++) out[(t * H + h) * D + i]! += (e[j - lo]! / sum) * values[(g * L + j) * D + i]!;
    }
  }
  return { out, sMax };
}

function fill(a: Float32Array, seed: number, amp: number): void {
  const r = mulberry32(seed);
  for (let i = 0; i < a.length; i++) a[i] = (r() * 2 - 1) * amp;
}

const can = simdSupported() && arenaMemory() !== null;
const threads0 = getThreads();
afterAll(async () => {
  setThreads(threads0);
  await shutdownPool();
});

describe.runIf(can)('decodeAttention (fused decode-size attention on the resident arena)', () => {
  it('equals the naive reference: GQA, windows, 1..4 rows, 1..300 positions', () => {
    const arb = fc.record({
      kv: fc.integer({ min: 1, max: 3 }),
      rep: fc.integer({ min: 1, max: 4 }),
      d4: fc.integer({ min: 1, max: 20 }),
      len: fc.integer({ min: 1, max: 300 }),
      spare: fc.integer({ min: 0, max: 9 }),
      T: fc.integer({ min: 1, max: 4 }),
      window: fc.option(fc.integer({ min: 1, max: 320 })),
      amp: fc.constantFrom(0.1, 1, 4),
      seed: fc.nat(),
    });
    fc.assert(
      fc.property(arb, ({ kv, rep, d4, len, spare, T, window, amp, seed }) => {
        const D = 4 * d4;
        const H = kv * rep;
        const L = len + spare;
        const rows = Math.min(T, len);
        const keys = arenaAlloc(Float32Array, kv * L * D)!;
        const values = arenaAlloc(Float32Array, kv * L * D)!;
        try {
          fill(keys, seed, amp);
          fill(values, seed + 1, 1);
          const q = new Float32Array(rows * H * D);
          fill(q, seed + 2, amp);
          const spec = { heads: H, kvHeads: kv, headDim: D, maxLen: L, length: len, window };
          expect(decodeAttentionSupported(keys, values, D)).toBe(true);
          const got = decodeAttention(q, keys, values, spec);
          const ref = naive(q, keys, values, spec);
          expectClose(got, ref.out, { rtol: 2e-5, atol: 2e-6 + 4e-7 * ref.sMax });
          // the same bits when run again and when computed row by row against a shorter cache
          expect(decodeAttention(q, keys, values, spec)).toEqual(got);
          for (let t = 0; t < rows; t++) {
            const one = q.subarray(t * H * D, (t + 1) * H * D);
            const r = decodeAttention(one, keys, values, { ...spec, length: len - rows + t + 1 });
            expect(r).toEqual(got.subarray(t * H * D, (t + 1) * H * D));
          }
        } finally {
          arenaFree(keys);
          arenaFree(values);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('splits heads across the pool on long contexts with the same bits as one thread', () => {
    const [H, KV, D, L] = [16, 4, 64, 1100];
    const keys = arenaAlloc(Float32Array, KV * L * D)!;
    const values = arenaAlloc(Float32Array, KV * L * D)!;
    try {
      fill(keys, 1, 1);
      fill(values, 2, 1);
      const q = new Float32Array(4 * H * D);
      fill(q, 3, 0.5);
      for (const window of [null, 700]) {
        const spec = { heads: H, kvHeads: KV, headDim: D, maxLen: L, length: 1000, window };
        setThreads(1);
        const one = decodeAttention(q, keys, values, spec);
        setThreads(2);
        const before = poolInfo().parallelCalls;
        const two = decodeAttention(q, keys, values, spec);
        if (poolInfo().platform !== null) expect(poolInfo().parallelCalls).toBe(before + 1);
        expect(two).toEqual(one);
        const ref = naive(q, keys, values, spec);
        expectClose(one, ref.out, { rtol: 2e-5, atol: 2e-6 + 4e-7 * ref.sMax });
      }
    } finally {
      arenaFree(keys);
      arenaFree(values);
    }
  });

  it('its exp is within 2 float32 ulps of the softmax kernels’ exp, and 0 below the floor', () => {
    const n = 4096;
    const x = new Float32Array(n);
    const r = mulberry32(7);
    for (let i = 0; i < n; i++) x[i] = i < 8 ? [0, -1e-8, -0.5, EXP_FLOOR, -Infinity, -200, -87.5, -1][i]! : r() * -90;
    const mem = arenaMemory();
    const base = arenaScratch(8 * n, mem);
    arenaViews(mem).f32.set(x, base / 4);
    attnWasm()!.expF32(base, base + 4 * n, n);
    const got = arenaViews(mem).f32.slice(base / 4 + n, base / 4 + 2 * n);
    for (let i = 0; i < n; i++) {
      const want = Math.fround(fastExp(x[i]!));
      if (x[i]! < EXP_FLOOR) expect(got[i]).toBe(0);
      else expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(2 * 2 ** -23 * want);
    }
  });

  it('rejects bad shapes and caches outside the arena, naming the value', () => {
    const keys = arenaAlloc(Float32Array, 2 * 8 * 4)!;
    const values = arenaAlloc(Float32Array, 2 * 8 * 4)!;
    const spec = { heads: 4, kvHeads: 2, headDim: 4, maxLen: 8, length: 3 };
    try {
      expect(() => decodeAttention(new Float32Array(15), keys, values, spec)).toThrow(/q holds 15 values/);
      expect(() => decodeAttention(new Float32Array(16), keys, values, { ...spec, kvHeads: 3 })).toThrow(
        /4 heads are not a multiple of 3/,
      );
      expect(() => decodeAttention(new Float32Array(16), keys, values, { ...spec, length: 9 })).toThrow(
        /length 9 exceeds the cache's 8/,
      );
      expect(() => decodeAttention(new Float32Array(16), keys.slice(), values, spec)).toThrow(/resident arena/);
      expect(decodeAttentionSupported(keys.slice(), values, 4)).toBe(false);
      expect(decodeAttentionSupported(keys, values, 6)).toBe(false);
    } finally {
      arenaFree(keys);
      arenaFree(values);
    }
  });
});
