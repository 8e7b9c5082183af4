// The sampler against naive references: greedy = first maximum, top-k keeps the k highest (and ties), top-p the
// smallest most-probable set reaching p, draws follow the softmax of what is kept, and one seed gives one sequence.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argmax, Sampler, seededRandom } from '../src/index.js';

const logitsArb = (maxLen = 40) =>
  fc
    .array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: maxLen }) // small integers: many ties
    .map((a) => Float32Array.from(a, (x) => x / 2));

/** Naive: the ids a sampler may return (temperature t > 0, top-k, top-p), with their probabilities. */
function allowed(logits: Float32Array, t: number, k: number, p: number): Map<number, number> {
  const ids = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]! || a - b);
  let keep = ids;
  if (k > 0 && k < ids.length) keep = ids.filter((i) => logits[i]! >= logits[ids[k - 1]!]!);
  const w = keep.map((i) => Math.exp((logits[i]! - logits[keep[0]!]!) / t));
  const z = w.reduce((a, b) => a + b, 0);
  let n = keep.length;
  if (p < 1) {
    let cum = 0;
    for (n = 0; n < keep.length && (n === 0 || cum < p); n++) cum += w[n]! / z;
  }
  const z2 = w.slice(0, n).reduce((a, b) => a + b, 0);
  return new Map(keep.slice(0, n).map((i, r) => [i, w[r]! / z2]));
}

describe('Sampler', () => {
  it('temperature 0 is the first maximum (ties to the lowest id)', () => {
    fc.assert(
      fc.property(logitsArb(), (l) => {
        let best = 0;
        for (let i = 0; i < l.length; i++) if (l[i]! > l[best]!) best = i;
        expect(argmax(l)).toBe(best);
        expect(new Sampler({ temperature: 0, seed: 3 }).next(l)).toBe(best);
      }),
    );
  });

  it('top-k 1 is greedy at any temperature', () => {
    fc.assert(
      fc.property(logitsArb(), fc.double({ min: 0.05, max: 5, noNaN: true }), fc.nat(1000), (l, t, seed) => {
        const s = new Sampler({ temperature: t, topK: 1, seed });
        const unique = l.filter((x) => x === l[argmax(l)]!).length === 1;
        if (unique) expect(s.next(l)).toBe(argmax(l));
      }),
    );
  });

  it('draws only what top-k and top-p keep', () => {
    fc.assert(
      fc.property(
        logitsArb(),
        fc.double({ min: 0.1, max: 4, noNaN: true }),
        fc.nat(12),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.nat(1 << 20),
        (l, t, k, p, seed) => {
          const ok = allowed(l, t, k, p);
          const s = new Sampler({ temperature: t, topK: k, topP: p, seed });
          for (let d = 0; d < 20; d++) expect(ok.has(s.next(l))).toBe(true);
        },
      ),
    );
  });

  it('draws follow the kept softmax (20000 seeded draws, within 0.015 per token)', () => {
    const l = Float32Array.from([1, 0.5, 2, -1, 2, 0, 1.5]);
    for (const [t, k, p] of [
      [1, 0, 1],
      [0.7, 4, 1],
      [1.3, 0, 0.8],
      [1, 5, 0.9],
    ] as const) {
      const want = allowed(l, t, k, p);
      const s = new Sampler({ temperature: t, topK: k, topP: p, seed: 42 });
      const count = new Array<number>(l.length).fill(0);
      const draws = 20000;
      for (let d = 0; d < draws; d++) count[s.next(l)]!++;
      for (let i = 0; i < l.length; i++) expect(Math.abs(count[i]! / draws - (want.get(i) ?? 0))).toBeLessThan(0.015);
    }
  });

  it('is deterministic: one seed, one sequence; another seed, another sequence', () => {
    const l = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const run = (seed: number) => {
      const s = new Sampler({ temperature: 1, topP: 0.95, seed });
      return Array.from({ length: 40 }, () => s.next(l));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    const r = seededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const u = r();
      expect(u >= 0 && u < 1).toBe(true);
    }
  });

  it('rejects bad options with one clear message', () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature must be a finite number >= 0, got -1/);
    expect(() => new Sampler({ temperature: 1, topK: 1.5 })).toThrow(/top-k must be an integer >= 0, got 1.5/);
    expect(() => new Sampler({ temperature: 1, topP: 0 })).toThrow(/top-p must be in \(0, 1\], got 0/);
    expect(() => new Sampler({ temperature: 1, seed: -2 })).toThrow(/seed must be an integer in \[0, 2\^32\), got -2/);
  });
});
