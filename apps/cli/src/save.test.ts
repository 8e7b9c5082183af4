import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '@stade/tensor';
import { Checkpoint } from '@stade/transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIo } from './io.js';
import { checkOutput, declareBiases, planShards, type SavableModel, saveModel } from './save.js';

const root = mkdtempSync(join(tmpdir(), 'stade-save-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A two-block Llama-shaped fake: q/o and gate/down linears, one with a bias (as STADE's correction makes). */
function fakeLlama(withBias = true): SavableModel & { map: Map<string, Tensor> } {
  const map = new Map<string, Tensor>();
  const lin = ['self_attn.q_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.down_proj'];
  map.set('model.embed_tokens.weight', Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]));
  for (let i = 0; i < 2; i++) {
    for (const l of lin) map.set(`model.layers.${i}.${l}.weight`, Tensor.from([0.5, 0, -1.25, 2], [2, 2]));
  }
  if (withBias) map.set('model.layers.1.mlp.down_proj.bias', Tensor.from([0.25, -0.5], [2]));
  return {
    map,
    modelType: 'llama',
    numBlocks: 2,
    linearNames: (i) => lin.map((l) => `model.layers.${i}.${l}`),
    tensors: () => [...map].map(([name, tensor]) => ({ name, tensor })),
  };
}

function sourceDir(): string {
  const src = join(root, `src-${Math.random().toString(36).slice(2)}`);
  mkdirSync(src);
  writeFileSync(join(src, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 2 }));
  writeFileSync(join(src, 'tokenizer.json'), '{"tok": 1}');
  writeFileSync(join(src, 'tokenizer_config.json'), '{}');
  return src;
}

describe('declareBiases', () => {
  it('sets mlp_bias and fills zero biases for the whole group only', () => {
    const m = fakeLlama();
    const config: Record<string, unknown> = { attention_bias: false };
    declareBiases(m, config, m.map);
    expect(config.mlp_bias).toBe(true);
    expect(config.attention_bias).toBe(false);
    expect(m.map.get('model.layers.0.mlp.gate_proj.bias')?.toArray()).toEqual([0, 0]);
    expect(m.map.get('model.layers.1.mlp.down_proj.bias')?.toArray()).toEqual([0.25, -0.5]);
    expect(m.map.has('model.layers.0.self_attn.q_proj.bias')).toBe(false);
  });

  it('changes nothing without biases', () => {
    const m = fakeLlama(false);
    const config: Record<string, unknown> = {};
    const n = m.map.size;
    declareBiases(m, config, m.map);
    expect(config).toEqual({});
    expect(m.map.size).toBe(n);
  });
});

describe('planShards', () => {
  it('keeps order, respects the limit and isolates oversized tensors', () => {
    const s = planShards(
      [
        { name: 'a', bytes: 4 },
        { name: 'b', bytes: 4 },
        { name: 'c', bytes: 20 },
        { name: 'd', bytes: 2 },
      ],
      10,
    );
    expect(s).toEqual([['a', 'b'], ['c'], ['d']]);
  });
});

describe('checkOutput', () => {
  it('refuses an existing folder without overwrite, files, and missing or unwritable parents', () => {
    const out = join(root, 'exists');
    mkdirSync(out);
    expect(() => checkOutput(out, false)).toThrow(/output folder .*exists already exists \(add --overwrite/);
    expect(() => checkOutput(out, true)).not.toThrow();
    const file = join(root, 'afile');
    writeFileSync(file, 'x');
    expect(() => checkOutput(file, true)).toThrow(/exists and is not a folder/);
    expect(() => checkOutput(join(root, 'no', 'such', 'out'), false)).toThrow(/parent folder .* does not exist/);
    expect(() => checkOutput(join(file, 'out'), false)).toThrow(/is not a folder/);
    expect(() => checkOutput('/proc/stade-out', false)).toThrow(/\/proc is not writable/);
    expect(readdirSync(root).filter((n) => n.startsWith('.stade-probe'))).toEqual([]);
  });
});

describe('saveModel', () => {
  it('writes a loadable folder with config flags, tokenizer, card; sharded and in the given dtype', () => {
    const m = fakeLlama();
    const out = join(root, 'saved');
    const io = captureIo();
    saveModel(
      m,
      { sourceDir: sourceDir(), out, dtype: 'F16', maxShardBytes: 24, card: '# card\n', overwrite: false },
      io,
    );
    expect(io.temps.size).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toContain('model.safetensors.index.json');
    expect(files).toContain('tokenizer.json');
    expect(files).toContain('README.md');
    expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.mlp_bias).toBe(true);
    const ck = Checkpoint.open(out);
    expect(ck.dtype).toBe('F16');
    expect(ck.get('model.layers.1.mlp.down_proj.bias').toArray()).toEqual([0.25, -0.5]);
    expect(ck.get('model.layers.0.mlp.gate_proj.bias').toArray()).toEqual([0, 0]);
    expect(ck.get('model.layers.1.self_attn.o_proj.weight').toArray()).toEqual([0.5, 0, -1.25, 2]);
    ck.close();
    expect(readdirSync(root).filter((n) => n.includes('stade-tmp'))).toEqual([]);
  });

  it('refuses an existing --out before writing, replaces it with overwrite', () => {
    const out = join(root, 'saved2');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old');
    const opts = {
      sourceDir: sourceDir(),
      out,
      dtype: 'F32' as const,
      maxShardBytes: 1e9,
      card: 'c',
      overwrite: false,
    };
    expect(() => saveModel(fakeLlama(), opts, captureIo())).toThrow(/already exists/);
    saveModel(fakeLlama(), { ...opts, overwrite: true }, captureIo());
    expect(existsSync(join(out, 'old.txt'))).toBe(false);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it('leaves nothing behind when writing fails', () => {
    const out = join(root, 'failing');
    const m = fakeLlama();
    m.map.set('model.bad.weight', new Tensor(new Float32Array(3), [3]));
    const broken: SavableModel = {
      ...m,
      tensors: () => {
        throw new Error('disk on fire');
      },
    };
    const io = captureIo();
    expect(() =>
      saveModel(
        broken,
        { sourceDir: sourceDir(), out, dtype: 'F32', maxShardBytes: 1e9, card: 'c', overwrite: false },
        io,
      ),
    ).toThrow(/disk on fire/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((n) => n.includes('stade-tmp'))).toEqual([]);
    expect(io.temps.size).toBe(0);
  });
});
