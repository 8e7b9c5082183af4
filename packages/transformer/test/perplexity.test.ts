// The SPEC 9 protocol on models whose answer is known exactly, and its errors.
import { logSoftmax, Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CausalLM, crossEntropySum, perplexity } from '../src/index.js';

/**
 * A stand-in model: the hidden state of a token is a one-hot of its id, the head maps it through `table`
 * (`[vocab, vocab]`, row = logits after that token). Only what perplexity uses is implemented.
 */
function bigramModel(table: Tensor, maxPositions = 64): CausalLM {
  const V = table.shape[0]!;
  return {
    modelType: 'bigram',
    config: {},
    numBlocks: 2,
    hiddenSize: V,
    vocabSize: V,
    maxPositions,
    embed(ids) {
      const h = Tensor.zeros([ids.length, V]);
      for (let t = 0; t < ids.length; t++) h.set(1, t, ids[t]!);
      return h;
    },
    block: (_i, h) => h,
    head(h) {
      const T = h.shape[0]!;
      const out = Tensor.zeros([T, V]);
      for (let t = 0; t < T; t++) {
        let id = 0;
        for (let j = 0; j < V; j++) if (h.get(t, j) === 1) id = j;
        for (let j = 0; j < V; j++) out.set(table.get(id, j), t, j);
      }
      return out;
    },
    forward(ids) {
      return this.head(this.embed(ids));
    },
    linearNames: () => [],
    getLinear: () => {
      throw new Error('none');
    },
    setLinear: () => {},
    releaseBlock: () => {},
    tensors: () => [],
  };
}

describe('perplexity', () => {
  it('uniform logits give ppl = vocab size', () => {
    const m = bigramModel(Tensor.zeros([7, 7]));
    const r = perplexity(
      m,
      Int32Array.from({ length: 40 }, (_, i) => (i * 3) % 7),
      { seqlen: 8 },
    );
    expect(r.windows).toBe(5);
    expect(r.seqlen).toBe(8);
    expect(r.ppl).toBeCloseTo(7, 10);
    expect(r.nll).toBeCloseTo(Math.log(7), 12);
  });

  it('equals exp(sum(loss * seqlen) / (n * seqlen)) of per-window mean NLLs; the remainder is dropped', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 11 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 1e6 }),
        (V, seqlen, n, extra, headRows, seed) => {
          const table = randn([V, V], seed, 3);
          const m = bigramModel(table);
          const len = n * seqlen + (extra % seqlen);
          const ids = Int32Array.from({ length: len }, (_, i) => (i * 7 + seed) % V);
          const r = perplexity(m, ids, { seqlen, headRows });
          const lsm = logSoftmax(table);
          let total = 0;
          for (let w = 0; w < n; w++) {
            let s = 0;
            for (let t = 0; t < seqlen - 1; t++) s -= lsm.get(ids[w * seqlen + t]!, ids[w * seqlen + t + 1]!);
            expect(r.losses[w]).toBeCloseTo(s / (seqlen - 1), 5);
            total += (s / (seqlen - 1)) * seqlen;
          }
          expect(r.windows).toBe(n);
          expect(Math.abs(r.ppl - Math.exp(total / (n * seqlen))) / r.ppl).toBeLessThan(1e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('crossEntropySum is stable for large logits (float64 log-sum-exp)', () => {
    const logits = Tensor.from([1000, 0, -1000, 3e4, 3e4, 3e4 - Math.log(2)], [2, 3]);
    const got = crossEntropySum(logits, Int32Array.from([0, 2]));
    const second = Math.log(2 + 0.5) + Math.log(2); // lse - x[2] = log(1 + 1 + 1/2) - (-log 2)
    expect(got).toBeCloseTo(0 + second, 3);
    expect(Number.isFinite(got)).toBe(true);
  });

  it('calls onProgress once per window', () => {
    const calls: [number, number][] = [];
    perplexity(bigramModel(Tensor.zeros([3, 3])), new Int32Array(13), {
      seqlen: 4,
      onProgress: (d, t) => calls.push([d, t]),
    });
    expect(calls).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('too few tokens, a bad seqlen or one beyond max_position_embeddings are errors naming the numbers', () => {
    const m = bigramModel(Tensor.zeros([3, 3]), 32);
    expect(() => perplexity(m, new Int32Array(10), { seqlen: 16 })).toThrow(/10 tokens.*seqlen 16/);
    expect(() => perplexity(m, new Int32Array(10), { seqlen: 1 })).toThrow(/seqlen must be an integer >= 2, got 1/);
    expect(() => perplexity(m, new Int32Array(100), { seqlen: 33 })).toThrow(/seqlen 33 exceeds.*32/);
  });
});
