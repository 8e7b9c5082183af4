import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSeqlen, contiguousWindows, defaultSeqlen, randomWindows } from './calibration.js';

const range = (a: number, n: number) => Int32Array.from({ length: n }, (_, i) => a + i);

describe('calibration windows', () => {
  it('contiguous: the first nsamples non-overlapping windows', () => {
    const w = contiguousWindows(range(0, 23), { nsamples: 3, seqlen: 7 });
    expect(w.map((x) => Array.from(x))).toEqual([range(0, 7), range(7, 7), range(14, 7)].map((x) => Array.from(x)));
    expect(() => contiguousWindows(range(0, 20), { nsamples: 3, seqlen: 7 })).toThrow(
      /found 20 tokens, need 21 \(3 windows of 7 tokens\)/,
    );
  });

  it('random: windows of seqlen from documents longer than seqlen, start in [0, len - seqlen - 1], seeded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer(),
        (lens, seqlen, seed) => {
          const docs = lens.map((n, d) => range(1000 * d, n));
          if (!lens.some((n) => n > seqlen)) {
            expect(() => randomWindows(docs, { nsamples: 2, seqlen, seed })).toThrow(
              /more than \d+ tokens; the longest of \d+ documents has \d+ tokens/,
            );
            return;
          }
          const w = randomWindows(docs, { nsamples: 5, seqlen, seed });
          expect(w).toEqual(randomWindows(docs, { nsamples: 5, seqlen, seed }));
          for (const x of w) {
            expect(x.length).toBe(seqlen);
            const d = Math.floor(x[0]! / 1000);
            const start = x[0]! - 1000 * d;
            expect(lens[d]).toBeGreaterThan(seqlen);
            expect(start).toBeLessThanOrEqual(lens[d]! - seqlen - 1);
            for (let k = 1; k < seqlen; k++) expect(x[k]).toBe(x[0]! + k);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('different seeds give different windows', () => {
    const docs = [range(0, 500), range(1000, 500)];
    expect(randomWindows(docs, { nsamples: 4, seqlen: 16, seed: 1 })).not.toEqual(
      randomWindows(docs, { nsamples: 4, seqlen: 16, seed: 2 }),
    );
  });

  it('seqlen defaults to min(2048, max_position_embeddings) and may not exceed it', () => {
    expect(defaultSeqlen(4096)).toBe(2048);
    expect(defaultSeqlen(512)).toBe(512);
    expect(() => checkSeqlen(600, 512)).toThrow(/seqlen 600 exceeds the model's max_position_embeddings 512/);
    expect(() => contiguousWindows(range(0, 5), { nsamples: 0, seqlen: 2 })).toThrow(/nsamples 0/);
  });
});
