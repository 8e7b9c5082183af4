// Decode owns its memory: every step's activations and logits come from one arena that is reset after the sampler
// read them, so the shared memory a generation allocates does not grow with the number of new tokens.
import * as path from 'node:path';
import { storageStats } from '@stade/tensor';
import { describe, expect, it } from 'vitest';
import { generate, loadModel } from '../src/index.js';
import { FIXTURES_DIR } from './fixtures.js';

const ROOT = path.resolve(FIXTURES_DIR, '../../../..');

describe('generate: memory', () => {
  for (const name of ['stade-opt-tiny', 'stade-llama-tiny']) {
    it(`${name}: 40 new tokens allocate what 10 do, and nothing left to the garbage collector`, () => {
      const model = loadModel(path.join(ROOT, 'models', name));
      const prompt = new Int32Array([5, 9, 13, 2, 7, 11]);
      const run = (n: number) => {
        const cache = (model as unknown as { newCache(n: number): unknown }).newCache(64);
        const s0 = storageStats();
        const r = generate(model, prompt, { maxNewTokens: n, temperature: 0, cache: cache as never });
        const s1 = storageStats();
        expect(r.ids.length).toBe(n);
        return {
          bytes: s1.sharedBytesAllocated - s0.sharedBytesAllocated,
          unowned: s1.unownedBytes - s0.unownedBytes,
        };
      };
      run(4); // warm-up: lazily built tables and workspaces
      const short = run(10);
      const long = run(40);
      expect(long.bytes).toBe(short.bytes);
      expect(long.unowned).toBe(0);
    });
  }
});
