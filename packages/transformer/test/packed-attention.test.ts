// Packed (varlen, shared-prefix) attention against running each segment on its own with causalAttention.
import { expectClose, randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PackedSegment, packedAttention, packedAttentionNaive, Rope, segmentPositions } from '../src/index.js';
import { gatherRows } from '../src/layers/packed-attention.js';

/** Documents (a context, then choices continuing it) packed one after another into segments. */
function layout(docs: { ctx: number; choices: number[] }[]): { segments: PackedSegment[]; N: number } {
  const segments: PackedSegment[] = [];
  let N = 0;
  for (const d of docs) {
    const prefixStart = N;
    if (d.ctx > 0) {
      segments.push({ start: N, length: d.ctx, prefixStart: 0, prefixLength: 0 });
      N += d.ctx;
    }
    for (const c of d.choices) {
      segments.push({ start: N, length: c, prefixStart, prefixLength: d.ctx });
      N += c;
    }
  }
  return { segments, N };
}

describe('packedAttention', () => {
  it('equals each segment run alone over its prefix (GQA, rotary, sliding window, blocks of queries)', () => {
    const doc = fc.record({
      ctx: fc.integer({ min: 0, max: 9 }),
      choices: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(doc, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.option(fc.integer({ min: 1, max: 8 })),
        fc.boolean(),
        fc.integer({ min: 0, max: 1e6 }),
        (docs, KV, rep, halfD, window, useRot, seed) => {
          const { segments, N } = layout(docs);
          const H = KV * rep;
          const D = 2 * halfD;
          const q = randn([N, H * D], seed);
          const k = randn([N, KV * D], seed + 1);
          const v = randn([N, KV * D], seed + 2);
          const pos = segmentPositions(segments, N);
          const t = new Rope(D, 10000, null).tables(32);
          const rotary = useRot ? { cos: gatherRows(t.cos, pos), sin: gatherRows(t.sin, pos) } : null;
          const spec = { heads: H, kvHeads: KV, headDim: D, scale: D ** -0.5, rotary, window };
          const want = packedAttentionNaive(q, k, v, spec, segments);
          const got = packedAttention(q, k, v, spec, segments);
          expect(got.shape).toEqual([N, H * D]);
          expectClose(got, want, { rtol: 1e-5, atol: 1e-6 });
        },
      ),
      { numRuns: 80 },
    );
  });

  it('one segment of more than 256 rows after a prefix (several query blocks)', () => {
    const segments = [
      { start: 0, length: 40, prefixStart: 0, prefixLength: 0 },
      { start: 40, length: 300, prefixStart: 0, prefixLength: 40 },
    ];
    const q = randn([340, 8], 1);
    const k = randn([340, 8], 2);
    const v = randn([340, 8], 3);
    const spec = { heads: 2, kvHeads: 2, headDim: 4, scale: 0.5 };
    expectClose(packedAttention(q, k, v, spec, segments), packedAttentionNaive(q, k, v, spec, segments), {
      rtol: 1e-5,
      atol: 1e-6,
    });
  });

  it('rejects a segment out of range or overlapping its prefix', () => {
    const q = randn([4, 4], 1);
    const spec = { heads: 1, kvHeads: 1, headDim: 4, scale: 1 };
    expect(() => packedAttention(q, q, q, spec, [{ start: 2, length: 3, prefixStart: 0, prefixLength: 0 }])).toThrow(
      /bad segment/,
    );
    expect(() => packedAttention(q, q, q, spec, [{ start: 1, length: 2, prefixStart: 0, prefixLength: 2 }])).toThrow(
      /bad segment/,
    );
  });
});
