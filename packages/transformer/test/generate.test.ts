// Greedy generation against PyTorch (tools/ref_generate.py: transformers' greedy search, no cache) on the fixture
// models and the two embedded models; sampling is deterministic for a seed, with 1 and 2 threads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getThreads, setThreads } from '@stade/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedDecoder, generate, loadModel } from '../src/index.js';
import { FIXTURES_DIR } from './fixtures.js';

interface GenRef {
  dir: string;
  prompt_ids: number[];
  max_new_tokens: number;
  ids: number[];
}
const ROOT = path.resolve(FIXTURES_DIR, '../../../..');
const refs = (
  JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, 'generate.json'), 'utf8')) as {
    models: Record<string, GenRef>;
  }
).models;
const initialThreads = getThreads();
afterAll(() => setThreads(initialThreads));

function eosOf(config: Record<string, unknown>): number[] {
  const e = config.eos_token_id;
  return typeof e === 'number' ? [e] : Array.isArray(e) ? (e as number[]) : [];
}

describe('generate', () => {
  it('covers OPT (pre- and post-LN), Llama (GQA, biases), Mistral, Qwen2 with a window and the embedded models', () => {
    expect(Object.keys(refs).sort()).toEqual(
      [
        'llama-bias',
        'llama-gqa',
        'mistral',
        'opt-post',
        'opt-pre',
        'qwen2-window',
        'stade-llama-tiny',
        'stade-opt-tiny',
      ].sort(),
    );
  });

  for (const threads of [1, 2]) {
    for (const [name, ref] of Object.entries(refs)) {
      it(`${name}, ${threads} thread(s): greedy tokens equal PyTorch's`, () => {
        setThreads(threads);
        const model = loadModel(path.join(ROOT, ref.dir));
        const streamed: number[] = [];
        const r = generate(model, Int32Array.from(ref.prompt_ids), {
          maxNewTokens: ref.max_new_tokens,
          temperature: 0,
          eosIds: eosOf(model.config),
          onToken: (id, i) => {
            expect(i).toBe(streamed.length);
            streamed.push(id);
          },
        });
        expect(Array.from(r.ids)).toEqual(ref.ids);
        expect(streamed).toEqual(ref.ids);
        expect(r.promptTokens).toBe(ref.prompt_ids.length);
        expect(r.decodeTokens).toBe(ref.ids.length - 1);
        expect(r.prefillSeconds).toBeGreaterThan(0);
      });
    }
  }

  it('samples the same tokens for the same seed with 1 and 2 threads, and reuses a given cache', () => {
    const ref = refs['stade-llama-tiny']!;
    const model = loadModel(path.join(ROOT, ref.dir));
    const cache = cachedDecoder(model).newCache(64);
    const run = (threads: number, seed: number) => {
      setThreads(threads);
      const opts = { maxNewTokens: 30, temperature: 0.9, topK: 50, topP: 0.9, seed, cache };
      return Array.from(generate(model, Int32Array.from(ref.prompt_ids), opts).ids);
    };
    const a = run(1, 5);
    expect(run(2, 5)).toEqual(a);
    expect(run(1, 6)).not.toEqual(a);
    expect(cache.length).toBe(ref.prompt_ids.length + 29);
  });

  it('rejects a request beyond max_position_embeddings before computing anything', () => {
    const ref = refs['opt-pre']!;
    const model = loadModel(path.join(ROOT, ref.dir));
    expect(() => generate(model, Int32Array.from(ref.prompt_ids), { maxNewTokens: 60, temperature: 0 })).toThrow(
      /a prompt of 6 tokens and 60 new tokens exceed max_position_embeddings 64/,
    );
    expect(() => generate(model, new Int32Array(0), { maxNewTokens: 1, temperature: 0 })).toThrow(/no tokens/);
    expect(() => generate(model, Int32Array.of(1), { maxNewTokens: 0, temperature: 0 })).toThrow(/>= 1, got 0/);
  });
});
