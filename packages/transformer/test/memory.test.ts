// Memory of the forward pass is bounded by design: exact, GC-independent counts of the storage allocators
// (storageStats) show that running more blocks or more windows allocates nothing more.

import { Arena, storageStats, type Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import { describe, expect, it } from 'vitest';
import { randomOptModel } from '../src/bench/prefill.js';
import { normalizeConfig } from '../src/config.js';
import {
  type CachedDecoder,
  type CausalLM,
  causalAttentionInto,
  forwardCached,
  MemorySource,
  perplexity,
  Workspace,
} from '../src/index.js';
import { LlamaModel } from '../src/models/llama.js';

const bytes = () => storageStats().sharedBytesAllocated;
const buffers = () => storageStats().buffersAllocated;

/** Storage bytes and buffers `f` allocates. */
function allocatedBy(f: () => unknown): { bytes: number; buffers: number } {
  const b0 = bytes();
  const n0 = buffers();
  f();
  return { bytes: bytes() - b0, buffers: buffers() - n0 };
}

const OPT_SMALL = {
  vocab_size: 97,
  hidden_size: 32,
  word_embed_proj_dim: 32,
  ffn_dim: 64,
  num_attention_heads: 4,
  max_position_embeddings: 600,
};

/** A random Llama (GQA, 4 heads over 2 KV heads) with `blocks` blocks, weights in memory. */
function randomLlama(blocks: number): CausalLM {
  const raw = {
    model_type: 'llama',
    vocab_size: 91,
    hidden_size: 32,
    intermediate_size: 48,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: blocks,
    max_position_embeddings: 600,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
  };
  const cfg = normalizeConfig(raw, '<random llama>');
  if (cfg.model_type === 'opt') throw new Error('unreachable');
  const t: [string, Tensor][] = [];
  let seed = 1;
  const add = (name: string, shape: number[], s = 0.2) => t.push([name, randn(shape, seed++, s)]);
  add('model.embed_tokens.weight', [91, 32]);
  add('lm_head.weight', [91, 32]);
  add('model.norm.weight', [32]);
  for (let i = 0; i < blocks; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}self_attn.q_proj.weight`, [32, 32]);
    add(`${p}self_attn.k_proj.weight`, [16, 32]);
    add(`${p}self_attn.v_proj.weight`, [16, 32]);
    add(`${p}self_attn.o_proj.weight`, [32, 32]);
    add(`${p}mlp.gate_proj.weight`, [48, 32]);
    add(`${p}mlp.up_proj.weight`, [48, 32]);
    add(`${p}mlp.down_proj.weight`, [32, 48]);
    add(`${p}input_layernorm.weight`, [32]);
    add(`${p}post_attention_layernorm.weight`, [32]);
  }
  return new LlamaModel(new MemorySource(raw, t, '<random llama>'), cfg);
}

const models: [string, (blocks: number) => CausalLM][] = [
  ['opt', (blocks) => randomOptModel({ ...OPT_SMALL, num_hidden_layers: blocks })],
  ['llama', randomLlama],
];

describe.each(models)('%s forward memory', (_name, make) => {
  const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 7) % 90);

  it('a 16-block forward allocates exactly what a 4-block one does (first call and steady state)', () => {
    const m4 = make(4);
    const m16 = make(16);
    const first4 = allocatedBy(() => m4.forward(ids));
    const first16 = allocatedBy(() => m16.forward(ids));
    expect(first16).toEqual(first4);
    const again4 = allocatedBy(() => m4.forward(ids));
    const again16 = allocatedBy(() => m16.forward(ids));
    expect(again16).toEqual(again4);
    // steady state: only what the caller receives, the embedded hidden states and the logits
    expect(again4.buffers).toBe(2);
    expect(again4.bytes).toBe(300 * (32 + m4.vocabSize) * 4);
  });

  it('a cached prefill of 16 blocks holds and allocates what one of 4 blocks does, and gives the same logits', () => {
    const prompt = ids.subarray(0, 200);
    /** Bytes the caller's arena holds after a prefill (its peak: nothing is reset in between), and allocations. */
    const prefill = (m: CausalLM) => {
      const d = m as CachedDecoder;
      const cache = d.newCache(256);
      const arena = new Arena();
      let logits: number[] = [];
      const alloc = allocatedBy(() => {
        logits = Array.from(arena.use(() => forwardCached(d, prompt, cache).values()));
      });
      const held = arena.bytes;
      arena.dispose();
      cache.dispose();
      return { held, alloc, logits };
    };
    const [m4, m16] = [make(4), make(16)];
    prefill(m4); // warm-up: tables, workspaces, the recycler
    prefill(m16);
    const [p4, p16] = [prefill(m4), prefill(m16)];
    expect(p16.held).toBe(p4.held);
    expect(p16.alloc).toEqual(p4.alloc);
    // the caller holds the embeddings, the two residual buffers and the logits, not the blocks' activations
    expect(p4.held).toBeLessThan(200 * (3 * 32 + m4.vocabSize) * 4 * 2);
    // the same logits as without the block arenas: the full forward pass
    const want = Array.from(m16.forward(prompt).values());
    expect(p16.logits.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(p16.logits[i]! - want[i]!)).toBeLessThan(1e-5);
  });

  it('blocks run in place over many windows allocate nothing after the first window', () => {
    const m = make(6);
    const h = m.embed(ids);
    const run = () => {
      for (let w = 0; w < 3; w++) {
        m.embed(ids, h);
        for (let i = 0; i < m.numBlocks; i++) m.block(i, h, { out: h });
      }
    };
    run();
    expect(allocatedBy(run)).toEqual({ bytes: 0, buffers: 0 });
  });

  it('block(i, h, { out: h }) in place equals block(i, h) into a fresh tensor', () => {
    const m = make(2);
    const h = m.embed(ids.subarray(0, 50));
    const fresh = m.block(1, m.block(0, h));
    m.block(0, h, { out: h });
    m.block(1, h, { out: h });
    expect(Array.from(h.data)).toEqual(Array.from(fresh.data));
  });

  it('perplexity allocates the same for 2 windows as for 6, in window and block mode', () => {
    const m = make(3);
    const long = Int32Array.from({ length: 6 * 64 }, (_, i) => (i * 13) % 90);
    for (const mode of ['window', 'block'] as const) {
      perplexity(m, long.subarray(0, 128), { seqlen: 64, mode, hiddenBudgetBytes: 64 * 32 * 4 * 2 }); // warm-up
      const two = allocatedBy(() =>
        perplexity(m, long.subarray(0, 128), { seqlen: 64, mode, hiddenBudgetBytes: 64 * 32 * 4 * 2 }),
      );
      const six = allocatedBy(() => perplexity(m, long, { seqlen: 64, mode, hiddenBudgetBytes: 64 * 32 * 4 * 2 }));
      expect(six).toEqual(two);
    }
  });
});

describe('attention scratch', () => {
  it('holds one head and one block of 256 queries at a time, never [heads, T, T]', () => {
    const T = 600;
    const H = 4;
    const D = 8;
    const ws = new Workspace();
    const q = randn([T, H * D], 1);
    const k = randn([T, 2 * D], 2);
    const v = randn([T, 2 * D], 3);
    const out = randn([T, H * D], 4);
    causalAttentionInto(q, k, v, { heads: H, kvHeads: 2, headDim: D, scale: 0.3 }, out, ws);
    expect(ws.bytes).toBe((256 * T + 256 * D) * 4);
  });
});
