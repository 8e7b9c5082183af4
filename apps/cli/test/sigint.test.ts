import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randn } from '@stade/tensor/testing';
import { writeSafetensors } from '@stade/transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { makeText, runCliAsync, writeTokenizer } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'stade-sigint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A random Llama big enough that pruning takes a few seconds (4 blocks, hidden 192). */
function bigLlama(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const H = 192;
  const I = 512;
  const V = 197;
  const KV = 96;
  const config = {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    hidden_size: H,
    intermediate_size: I,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: V,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    hidden_act: 'silu',
    torch_dtype: 'float32',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  let seed = 1;
  const t = (name: string, shape: number[], scale = 0.05) => {
    const r = randn(shape, seed++);
    const data = r.values().map((x) => x * scale);
    return { name, dtype: 'F32' as const, shape, data };
  };
  const ones = (name: string, n: number) => ({
    name,
    dtype: 'F32' as const,
    shape: [n],
    data: new Float32Array(n).fill(1),
  });
  const entries = [t('model.embed_tokens.weight', [V, H], 1), ones('model.norm.weight', H)];
  for (let i = 0; i < 4; i++) {
    const p = `model.layers.${i}.`;
    entries.push(
      t(`${p}self_attn.q_proj.weight`, [H, H]),
      t(`${p}self_attn.k_proj.weight`, [KV, H]),
      t(`${p}self_attn.v_proj.weight`, [KV, H]),
      t(`${p}self_attn.o_proj.weight`, [H, H]),
      t(`${p}mlp.gate_proj.weight`, [I, H]),
      t(`${p}mlp.up_proj.weight`, [I, H]),
      t(`${p}mlp.down_proj.weight`, [H, I]),
      ones(`${p}input_layernorm.weight`, H),
      ones(`${p}post_attention_layernorm.weight`, H),
    );
  }
  writeSafetensors(join(dir, 'model.safetensors'), entries);
  writeTokenizer(dir, V - 1);
}

describe('SIGINT', () => {
  it('interrupting a prune mid-run exits 130 and leaves no output or temporary folder', async () => {
    const model = join(root, 'big');
    bigLlama(model);
    const calib = join(root, 'calib.txt');
    writeFileSync(calib, makeText(20_000, 190, 5));
    const work = join(root, 'work');
    mkdirSync(work);
    const out = join(work, 'out');
    let sent = false;
    const r = await runCliAsync(
      [
        'prune',
        '--model',
        model,
        '--method',
        'stade',
        '--sparsity',
        '0.5',
        '--calib',
        calib,
        '--nsamples',
        '64',
        '--seqlen',
        '128',
        '--out',
        out,
      ],
      (stderr, kill) => {
        if (!sent && /prune: 1\/4/.test(stderr)) {
          sent = true;
          kill('SIGINT');
        }
      },
    );
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    const errors = r.stderr.split('\n').filter((l) => /error/.test(l));
    expect(errors).toEqual(['stade: error: interrupted by SIGINT; removing partial output']);
    expect(r.stderr).not.toMatch(/\n\s+at \S/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
  });
});
