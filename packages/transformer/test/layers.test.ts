// The shared layers against naive references: attention (causal, grouped-query, sliding window, rotary),
// rotary tables and inverse frequencies.
import type { Tensor } from '@stade/tensor';
import { arbDim, expectClose, randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { causalAttention, Rope, ropeInvFreq } from '../src/index.js';

/** x * cos + rotate_half(x) * sin for one row of width D. */
function rotateRow(x: number[], cos: number[], sin: number[]): number[] {
  const D = x.length;
  const h = D / 2;
  return x.map((v, d) => v * cos[d]! + (d < h ? -x[d + h]! : x[d - h]!) * sin[d]!);
}

/** Straight from the definition, in float64: per head h (kv head floor(h / rep)), masked softmax(q k^T s) v. */
function naiveAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  H: number,
  KV: number,
  D: number,
  scale: number,
  window: number | null,
  rot: { cos: Tensor; sin: Tensor } | null,
): number[] {
  const T = q.shape[0]!;
  const rep = H / KV;
  const row = (t: Tensor, i: number, head: number) => Array.from({ length: D }, (_, d) => t.get(i, head * D + d));
  const rotated = (t: Tensor, i: number, head: number) =>
    rot
      ? rotateRow(
          row(t, i, head),
          Array.from({ length: D }, (_, d) => rot.cos.get(i, d)),
          Array.from({ length: D }, (_, d) => rot.sin.get(i, d)),
        )
      : row(t, i, head);
  const out = new Array<number>(T * H * D).fill(0);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    for (let i = 0; i < T; i++) {
      const qi = rotated(q, i, h);
      const scores: number[] = [];
      for (let j = 0; j < T; j++) {
        const visible = j <= i && (window === null || i - j < window);
        const kj = rotated(k, j, g);
        scores.push(visible ? qi.reduce((s, x, d) => s + x * kj[d]!, 0) * scale : -Infinity);
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < T; j++)
        for (let d = 0; d < D; d++) out[i * H * D + h * D + d]! += (e[j]! / z) * v.get(j, g * D + d);
    }
  }
  return out;
}

describe('causalAttention', () => {
  it('matches the naive definition (GQA, sliding window, rotary, odd sizes)', () => {
    fc.assert(
      fc.property(
        arbDim(11),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.option(fc.integer({ min: 1, max: 12 })),
        fc.boolean(),
        fc.integer({ min: 0, max: 1e6 }),
        (T, KV, rep, halfD, window, useRot, seed) => {
          const H = KV * rep;
          const D = 2 * halfD;
          const q = randn([T, H * D], seed);
          const k = randn([T, KV * D], seed + 1);
          const v = randn([T, KV * D], seed + 2);
          const rot = useRot ? new Rope(D, 10000, null).tables(T) : null;
          const scale = D ** -0.5;
          const got = causalAttention(q, k, v, { heads: H, kvHeads: KV, headDim: D, scale, rotary: rot, window });
          expect(got.shape).toEqual([T, H * D]);
          expectClose(got, naiveAttention(q, k, v, H, KV, D, scale, window, rot), { rtol: 1e-4, atol: 1e-5 });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('accepts strided q, k, v views (columns of a fused projection)', () => {
    const T = 5;
    const qkv = randn([T, 3 * 8], 3); // [T, q | k | v], 2 heads of 4
    const q = qkv.narrow(1, 0, 8);
    const k = qkv.narrow(1, 8, 8);
    const v = qkv.narrow(1, 16, 8);
    const got = causalAttention(q, k, v, { heads: 2, kvHeads: 2, headDim: 4, scale: 0.5 });
    expectClose(got, naiveAttention(q.clone(), k.clone(), v.clone(), 2, 2, 4, 0.5, null, null), {
      rtol: 1e-4,
      atol: 1e-5,
    });
  });

  it('row 0 returns v of token 0 and a window of 1 returns each token own value', () => {
    const T = 6;
    const q = randn([T, 4], 1);
    const k = randn([T, 4], 2);
    const v = randn([T, 4], 3);
    const w1 = causalAttention(q, k, v, { heads: 1, kvHeads: 1, headDim: 4, scale: 1, window: 1 });
    expectClose(w1, v, { rtol: 1e-6, atol: 1e-6 });
    const full = causalAttention(q, k, v, { heads: 1, kvHeads: 1, headDim: 4, scale: 1 });
    expectClose(full.narrow(0, 0, 1), v.narrow(0, 0, 1), { rtol: 1e-6, atol: 1e-6 });
  });
});

describe('rotary embeddings', () => {
  it('default inverse frequencies are 1 / theta^(2k/d)', () => {
    const inv = ropeInvFreq(16, 10000, null);
    expect(inv.length).toBe(8);
    for (let k = 0; k < 8; k++) expect(inv[k]).toBeCloseTo(1 / 10000 ** ((2 * k) / 16), 7);
  });

  it('linear scaling divides every frequency by the factor', () => {
    const a = ropeInvFreq(32, 10000, null);
    const b = ropeInvFreq(32, 10000, { rope_type: 'linear', factor: 4 });
    for (let k = 0; k < 16; k++) expect(Math.abs(b[k]! - a[k]! / 4) / b[k]!).toBeLessThan(1e-6);
  });

  it('llama3 scaling keeps high frequencies, divides low ones, interpolates between', () => {
    const dim = 64;
    const s = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 64,
    } as const;
    const a = ropeInvFreq(dim, 500000, null);
    const b = ropeInvFreq(dim, 500000, s);
    const kinds = new Set<string>();
    for (let k = 0; k < dim / 2; k++) {
      const wavelen = (2 * Math.PI) / a[k]!;
      if (wavelen < 64 / 4) {
        expect(b[k]).toBe(a[k]);
        kinds.add('high');
      } else if (wavelen > 64) {
        expect(Math.abs(b[k]! - a[k]! / 8) / b[k]!).toBeLessThan(1e-6);
        kinds.add('low');
      } else {
        const smooth = (64 / wavelen - 1) / (4 - 1);
        const want = (1 - smooth) * (a[k]! / 8) + smooth * a[k]!;
        expect(Math.abs(b[k]! - want) / want).toBeLessThan(1e-6);
        expect(b[k]!).toBeLessThanOrEqual(a[k]!);
        expect(b[k]!).toBeGreaterThanOrEqual(a[k]! / 8);
        kinds.add('medium');
      }
    }
    expect(kinds.size).toBe(3);
  });

  it('tables hold cos/sin(t * inv_freq) in both halves; shorter lengths are views of the cache', () => {
    const rope = new Rope(8, 100, null);
    const long = rope.tables(9);
    const short = rope.tables(4);
    expect(short.cos.shape).toEqual([4, 8]);
    expect(short.cos.data).toBe(long.cos.data);
    for (let t = 0; t < 9; t++) {
      for (let k = 0; k < 4; k++) {
        const a = Math.fround(t * rope.invFreq[k]!);
        expect(long.cos.get(t, k)).toBeCloseTo(Math.cos(a), 6);
        expect(long.cos.get(t, k + 4)).toBe(long.cos.get(t, k));
        expect(long.sin.get(t, k)).toBeCloseTo(Math.sin(a), 6);
        expect(long.sin.get(t, k + 4)).toBe(long.sin.get(t, k));
      }
    }
    expect(rope.tables(12).cos.shape).toEqual([12, 8]);
  });
});
