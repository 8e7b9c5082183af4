// The KV-cached path against the full forward pass on every fixture model (OPT pre/post-LN, Llama with GQA,
// Mistral and Qwen2 with sliding windows, F16/BF16): same logits to 1e-5, token by token and in chunks.
import { arenaLiveBytes, getThreads, setThreads, sharedMemoryAvailable, simdSupported } from '@stade/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedDecoder, forwardCached, KvCache, loadModel } from '../src/index.js';
import { fixtureNames, loadFixture, relMaxError } from './fixtures.js';

const initialThreads = getThreads();
afterAll(() => setThreads(initialThreads));

/** Logits of `ids` fed to the cache in chunks of the given sizes, concatenated: `[T, vocab]`. */
function chunked(name: string, ids: Int32Array, sizes: number[]): Float32Array {
  const m = cachedDecoder(loadModel(loadFixture(name).dir));
  const cache = m.newCache(ids.length);
  expect(cache.resident).toBe(simdSupported() && sharedMemoryAvailable); // decode steps run the fused attention
  const out = new Float32Array(ids.length * m.vocabSize);
  let t = 0;
  for (const s of sizes) {
    const logits = forwardCached(m, ids.subarray(t, t + s), cache, false); // [s, vocab]
    expect(logits.shape).toEqual([s, m.vocabSize]);
    out.set(logits.values(), t * m.vocabSize);
    t += s;
  }
  expect(t).toBe(ids.length);
  expect(cache.length).toBe(ids.length);
  cache.dispose();
  return out;
}

describe('KV-cached forward', () => {
  for (const threads of [1, 2]) {
    for (const name of fixtureNames()) {
      it(`${name}, ${threads} thread(s): prefill + single tokens + chunks give the full forward's logits`, () => {
        setThreads(threads);
        const fx = loadFixture(name);
        const ids = fx.ids;
        const full = loadModel(fx.dir).forward(ids).values();
        const T = ids.length;
        const first = Math.max(1, T >> 2);
        const singles = [first, ...Array.from({ length: T - first }, () => 1)];
        expect(relMaxError(chunked(name, ids, singles), full)).toBeLessThan(1e-5);
        const chunks: number[] = [];
        for (let t = 0, s = 1; t < T; t += s, s++) chunks.push(Math.min(s, T - t));
        expect(relMaxError(chunked(name, ids, chunks), full)).toBeLessThan(1e-5);
      });
    }
  }

  it('lastOnly returns the last row of the logits', () => {
    const fx = loadFixture('llama-gqa');
    const m = cachedDecoder(loadModel(fx.dir));
    const all = forwardCached(m, fx.ids, m.newCache(fx.ids.length));
    const last = forwardCached(m, fx.ids, m.newCache(fx.ids.length), true);
    const V = m.vocabSize;
    expect(last.shape).toEqual([1, V]);
    expect(relMaxError(last.values(), all.values().subarray((fx.ids.length - 1) * V))).toBeLessThan(1e-6);
  });

  it('preallocates its memory and rejects tokens beyond its capacity, naming the numbers', () => {
    const fx = loadFixture('opt-pre');
    const m = cachedDecoder(loadModel(fx.dir));
    const cache = m.newCache(4);
    expect(cache.bytes).toBe(2 * m.numBlocks * 4 * m.hiddenSize * 4);
    const before = cache.keys.map((k) => k.buffer);
    forwardCached(m, fx.ids.subarray(0, 3), cache);
    expect(() => forwardCached(m, fx.ids.subarray(3, 5), cache)).toThrow(
      /2 more tokens after 3 exceed its capacity of 4/,
    );
    expect(cache.length).toBe(3);
    forwardCached(m, fx.ids.subarray(3, 4), cache);
    expect(cache.keys.map((k) => k.buffer)).toEqual(before);
    cache.reset();
    expect(cache.length).toBe(0);
    expect(() => m.newCache(m.maxPositions + 1)).toThrow(/must be an integer in \[1, \d+\]/);
    expect(() => new KvCache(1, 0, 2, 2)).toThrow(/kvHeads must be a positive integer/);
    expect(() => m.embedAt(fx.ids.subarray(0, 2), m.maxPositions - 1)).toThrow(/exceed max_position_embeddings/);
  });

  it('decode steps give the same bits on 1 and 2 threads (GQA, window)', () => {
    for (const name of ['llama-gqa', 'qwen2-window', 'opt-pre-bf16']) {
      const ids = loadFixture(name).ids;
      const sizes = [2, ...Array.from({ length: ids.length - 2 }, () => 1)];
      setThreads(1);
      const one = chunked(name, ids, sizes);
      setThreads(2);
      expect(chunked(name, ids, sizes)).toEqual(one);
    }
  });

  it('dispose returns the memory of a resident cache and the cache refuses further use', () => {
    const m = cachedDecoder(loadModel(loadFixture('opt-pre').dir));
    const before = arenaLiveBytes();
    const cache = m.newCache(8);
    if (cache.resident) expect(arenaLiveBytes() - before).toBeGreaterThanOrEqual(cache.bytes);
    forwardCached(m, Int32Array.of(1, 2), cache);
    cache.dispose();
    expect(arenaLiveBytes()).toBe(before);
    expect(() => forwardCached(m, Int32Array.of(3), cache)).toThrow(/KV cache: used after dispose/);
    cache.dispose(); // a second dispose does nothing
  });
});
