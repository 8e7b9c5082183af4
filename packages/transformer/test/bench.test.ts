// The prefill/kernel bench computes what model.forward computes, and counts the same flops as forwardFlops.
import { Tensor } from '@stade/tensor';
import { describe, expect, it } from 'vitest';
import { forwardFlops, OPT_125M_CONFIG, randomIds, randomOptModel } from '../src/bench/prefill.js';
import { LLAMA_1B_CONFIG, prefillFlops, prefillInto, randomSharedLlama } from '../src/bench/ratio.js';

describe('prefill bench helpers', () => {
  it('prefillInto gives the logits of forward; prefillFlops agrees with forwardFlops on OPT', () => {
    const cfg = {
      hidden_size: 32,
      word_embed_proj_dim: 32,
      ffn_dim: 48,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      vocab_size: 50,
    };
    const m = randomOptModel(cfg);
    const ids = randomIds(40, m.vocabSize, 3);
    const want = m.forward(ids);
    const got = prefillInto(m, ids, Tensor.zeros([40, 32]), Tensor.zeros([40, 50]));
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
    expect(prefillFlops(m, 40)).toBe(forwardFlops({ ...OPT_125M_CONFIG, ...cfg }, 40));
  });

  it('the shared-weight Llama has the 1.1B shape and runs', () => {
    const m = randomSharedLlama({
      ...LLAMA_1B_CONFIG,
      hidden_size: 64,
      intermediate_size: 96,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      vocab_size: 70,
      num_hidden_layers: 3,
    });
    expect(m.numBlocks).toBe(3);
    const logits = m.forward(randomIds(12, 70, 1));
    expect(logits.shape).toEqual([12, 70]);
    expect(logits.values().every(Number.isFinite)).toBe(true);
    expect(prefillFlops(m, 12)).toBe(
      3 * (4 * 144 * 64 + 2 * 12 * (64 * 64 * 2 + 16 * 64 * 2 + 3 * 64 * 96)) + 2 * 12 * 64 * 70,
    );
  });
});
