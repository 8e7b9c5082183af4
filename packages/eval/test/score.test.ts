// logLikelihoods' shared forward passes and left truncation against a naive re-computation (one forward per
// request, every logit row, float64 log-softmax), on the tiny random OPT and Llama fixtures.
import { fileURLToPath } from 'node:url';
import { getThreads, setThreads, storageStats } from '@stade/tensor';
import { loadModel } from '@stade/transformer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EncodedPair, logLikelihoods, Scorer, type ScoreStats } from '../src/index.js';

const fixture = (n: string) => fileURLToPath(new URL(`../../transformer/test/fixtures/${n}`, import.meta.url));

/** The harness's loop written out plainly: full logits of the truncated input, log-softmax per row in float64. */
function naive(model: ReturnType<typeof loadModel>, r: EncodedPair, maxLength: number): number {
  const full = [...r.context, ...r.continuation];
  const inp = Int32Array.from(full.slice(-(maxLength + 1)).slice(0, -1));
  const logits = model.forward(inp).values(); // [T, vocab]
  const V = model.vocabSize;
  let ll = 0;
  r.continuation.forEach((tok, k) => {
    const row = inp.length - r.continuation.length + k;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[row * V + j]!);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[row * V + j]! - m);
    ll += logits[row * V + tok]! - m - Math.log(s);
  });
  return ll;
}

for (const name of ['opt-pre', 'llama-gqa']) {
  describe(`logLikelihoods on ${name}`, () => {
    const model = loadModel(fixture(name));
    const V = model.vocabSize;
    const ids = (min: number, max: number) =>
      fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: min, maxLength: max });
    it('equals the naive per-request computation (shared contexts, one-token and longer continuations)', () => {
      fc.assert(
        fc.property(
          ids(1, 40),
          fc.array(ids(1, 6), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 8, max: 64 }),
          fc.integer({ min: 1, max: 4 }),
          (ctx, conts, maxLength, headRows) => {
            const reqs = conts.map((c) => ({ context: Int32Array.from(ctx), continuation: Int32Array.from(c) }));
            const stats: ScoreStats = { forwards: 0, tokens: 0, headRows: 0 };
            const got = logLikelihoods(model, reqs, { maxLength, headRows }, stats);
            reqs.forEach((r, i) => {
              const want = naive(model, r, maxLength);
              expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-9);
            });
            expect(stats.forwards).toBeLessThanOrEqual(reqs.length);
            expect(stats.headRows).toBe(conts.reduce((s, c) => s + c.length, 0));
          },
        ),
        { numRuns: 25, seed: 11 },
      );
    });
    it('runs one forward pass for one-token continuations of one context', () => {
      const ctx = Int32Array.from([3, 5, 7, 11, 13]);
      const reqs = [1, 2, 3, 4].map((t) => ({ context: ctx, continuation: Int32Array.of(t) }));
      const stats: ScoreStats = { forwards: 0, tokens: 0, headRows: 0 };
      logLikelihoods(model, reqs, {}, stats);
      expect(stats).toEqual({ forwards: 1, tokens: 5, headRows: 4 });
    });
    it('runs a shared context once, the choices continuing it in the same packed forward', () => {
      const ctx = Int32Array.from([3, 5, 7, 11, 13, 17, 19, 23]);
      const reqs = [[1, 2], [4, 5, 6], [7]].map((c) => ({ context: ctx, continuation: Int32Array.from(c) }));
      const stats: ScoreStats = { forwards: 0, tokens: 0, headRows: 0 };
      const got = logLikelihoods(model, reqs, {}, stats);
      // inputs ctx+[1], ctx+[4,5], ctx: the third is a prefix of the others; ctx runs once, then 1 and 2 tokens
      expect(stats).toEqual({ forwards: 2, tokens: 8 + 1 + 2, headRows: 6 });
      reqs.forEach((r, i) => {
        expect(Math.abs(got[i]! - naive(model, r, 64))).toBeLessThanOrEqual(1e-5 * Math.abs(got[i]!));
      });
    });
    it('scoreDocs packs documents into forwards and equals scoring each request alone', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(ids(1, 30), fc.array(ids(1, 6), { minLength: 1, maxLength: 5 })), {
            minLength: 1,
            maxLength: 6,
          }),
          fc.integer({ min: 1, max: 120 }),
          (docs, batchRows) => {
            const reqs = docs.map(([ctx, conts]) =>
              conts.map((c) => ({ context: Int32Array.from(ctx), continuation: Int32Array.from(c) })),
            );
            const got = new Scorer(model, { maxLength: 32, batchRows, headRows: 7 }).scoreDocs(reqs);
            reqs.forEach((doc, d) => {
              doc.forEach((r, i) => {
                const want = naive(model, r, 32);
                expect(Math.abs(got[d]![i]! - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-9);
              });
            });
          },
        ),
        { numRuns: 15, seed: 5 },
      );
    });
    it('allocates no storage per document once its buffers have grown', () => {
      const scorer = new Scorer(model, { batchRows: 64 });
      let seed = 7;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed % (V - 1);
      };
      const doc = () => {
        const context = Int32Array.from({ length: 12 }, rnd);
        return [3, 5, 4, 6].map((n) => ({ context, continuation: Int32Array.from({ length: n }, rnd) }));
      };
      scorer.scoreDocs(Array.from({ length: 8 }, doc)); // warm-up: weights, scratch and rotary tables grow
      const before = storageStats().sharedBytesAllocated;
      for (let k = 0; k < 10; k++) scorer.scoreDocs(Array.from({ length: 8 }, doc));
      expect(storageStats().sharedBytesAllocated - before).toBe(0);
    });
    it('rejects a continuation longer than the maximum length', () => {
      const r = { context: Int32Array.of(1), continuation: new Int32Array(9).fill(2) };
      expect(() => logLikelihoods(model, [r], { maxLength: 8 })).toThrow(/longer than the maximum length 8/);
    });
  });
}

describe('threads', () => {
  it('1 and 2 threads give the same log-likelihoods', () => {
    const model = loadModel(fixture('opt-pre'));
    const reqs = [
      [5, 6, 7],
      [8, 9],
      [10, 11, 12, 13],
    ].map((c) => ({
      context: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
      continuation: Int32Array.from(c),
    }));
    const before = getThreads();
    try {
      setThreads(1);
      const one = logLikelihoods(model, reqs);
      setThreads(2);
      expect(logLikelihoods(model, reqs)).toEqual(one);
    } finally {
      setThreads(before);
    }
  });
});
