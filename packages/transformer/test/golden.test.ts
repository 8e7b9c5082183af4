// The TypeScript forward passes against PyTorch (tools/make_fixtures.py): logits within 1e-4 relative
// (max abs diff / max abs value) and perplexity within 1e-4 relative, for every fixture (F32, F16, BF16
// checkpoints), with 1 and 2 threads.
import { getThreads, setThreads } from '@stade/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, perplexity } from '../src/index.js';
import { fixtureNames, loadFixture, relMaxError } from './fixtures.js';

const names = fixtureNames();
const initialThreads = getThreads();
afterAll(() => setThreads(initialThreads));

describe('golden fixtures', () => {
  it('covers every architecture and dtype the issue asks for', () => {
    for (const n of [
      'opt-pre',
      'opt-pre-f16',
      'opt-pre-bf16',
      'opt-post',
      'llama-gqa',
      'llama-gqa-f16',
      'llama-gqa-bf16',
      'mistral',
      'qwen2',
    ]) {
      expect(names).toContain(n);
    }
  });

  for (const threads of [1, 2]) {
    describe(`${threads} thread(s)`, () => {
      for (const name of names) {
        it(`${name}: logits and perplexity match PyTorch`, () => {
          setThreads(threads);
          const fx = loadFixture(name);
          const model = loadModel(fx.dir);
          const logits = model.forward(fx.ids);
          expect(logits.shape).toEqual(fx.ref.logits.shape);
          expect(relMaxError(logits.values(), fx.logits)).toBeLessThan(1e-4);

          const p = fx.ref.perplexity;
          let calls = 0;
          const r = perplexity(model, Int32Array.from(p.ids), { seqlen: p.seqlen, onProgress: () => calls++ });
          expect(r.windows).toBe(p.windows);
          expect(r.seqlen).toBe(p.seqlen);
          expect(calls).toBe(p.windows);
          expect(Math.abs(r.ppl - p.ppl) / p.ppl).toBeLessThan(1e-4);
          for (let w = 0; w < p.windows; w++) expect(r.losses[w]).toBeCloseTo(p.window_losses[w]!, 4);
        });
      }
    });
  }
});
