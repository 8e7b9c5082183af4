// A model large enough for the worker pool to split its work: 1 and 2 threads give bit-identical logits,
// and block-by-block running equals forward.
import { getThreads, setThreads } from '@stade/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { randomIds, randomOptModel } from '../src/bench/prefill.js';

const initial = getThreads();
afterAll(() => setThreads(initial));

describe('threads', () => {
  it('random OPT (hidden 256, 4 heads, 2 blocks, 96 tokens): identical logits at 1 and 2 threads', () => {
    const model = randomOptModel({
      vocab_size: 1000,
      hidden_size: 256,
      word_embed_proj_dim: 256,
      ffn_dim: 1024,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      max_position_embeddings: 128,
    });
    const ids = randomIds(96, 1000, 3);
    setThreads(1);
    const a = model.forward(ids).values();
    setThreads(2);
    const b = model.forward(ids).values();
    expect(a.every(Number.isFinite)).toBe(true);
    expect(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
    ).toBe(true);
    let h = model.embed(ids);
    for (let i = 0; i < model.numBlocks; i++) h = model.block(i, h);
    expect(model.head(h).toArray()).toEqual(Array.from(a));
  });
});
