import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '@stade/tensor';
import { Checkpoint, type FloatDtype, writeSafetensors } from '@stade/transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { enospcWriters } from '../test/helpers.js';
import { errorLine } from './errors.js';
import { captureIo } from './io.js';
import { checkOutput, declareBiases, ModelSaver, planShards, type SavableModel } from './save.js';
import { removeStaleTemps, tempPrefix } from './temp.js';

const root = mkdtempSync(join(tmpdir(), 'stade-save-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LIN = ['self_attn.q_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.down_proj'];

/** A two-block Llama-shaped fake over a checkpoint folder (q/o and gate/down linears, 2x2; embeddings 3x2). */
function fakeLlama(dtype: FloatDtype = 'F32', storedBias = false): { model: SavableModel; ckpt: Checkpoint } {
  const dir = join(root, `src-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 2 }));
  writeFileSync(join(dir, 'tokenizer.json'), '{"tok": 1}');
  writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
  const entries = [
    { name: 'model.embed_tokens.weight', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6.01]) },
  ];
  for (let i = 0; i < 2; i++) {
    for (const l of LIN) {
      entries.push({ name: `model.layers.${i}.${l}.weight`, shape: [2, 2], data: Float32Array.from([9, 9, 9, 9]) });
    }
    entries.push({ name: `model.layers.${i}.input_layernorm.weight`, shape: [2], data: Float32Array.from([1, 1.5]) });
  }
  if (storedBias)
    entries.push({ name: 'model.layers.0.mlp.gate_proj.bias', shape: [2], data: Float32Array.from([7, 8]) });
  writeSafetensors(
    join(dir, 'model.safetensors'),
    entries.map((e) => ({ ...e, dtype })),
  );
  const ckpt = Checkpoint.open(dir);
  const model: SavableModel = {
    modelType: 'llama',
    numBlocks: 2,
    linearNames: (i) => LIN.map((l) => `model.layers.${i}.${l}`),
    linearInfo: () => ({ out: 2, in: 2, bias: false }),
    tensorKeys: () => ckpt.names().map((n) => ({ name: n, key: n })),
  };
  return { model, ckpt };
}

const W = Tensor.from([0.5, 0, -1.25, 2], [2, 2]);

/** Writes every pruned layer: weight W, and (with `bias`) a bias on block 1's down_proj. */
function writeAll(s: ModelSaver, model: SavableModel, bias = false): void {
  for (let i = 0; i < model.numBlocks; i++) {
    for (const name of model.linearNames(i)) {
      const b = bias && name === 'model.layers.1.mlp.down_proj' ? Tensor.from([0.25, -0.5], [2]) : null;
      s.writeLayer({ name, weight: W, bias: b });
    }
  }
}

describe('declareBiases', () => {
  const m = fakeLlama().model;
  it('sets mlp_bias and gives the whole group (only) biases', () => {
    const config: Record<string, unknown> = { attention_bias: false };
    const withBias = new Set(['model.layers.1.mlp.down_proj']);
    expect(declareBiases(m, config, withBias)).toEqual([]);
    expect(config.mlp_bias).toBe(true);
    expect(config.attention_bias).toBe(false);
    expect([...withBias].sort()).toEqual([
      'model.layers.0.mlp.down_proj',
      'model.layers.0.mlp.gate_proj',
      'model.layers.1.mlp.down_proj',
      'model.layers.1.mlp.gate_proj',
    ]);
  });

  it('changes nothing without biases; warns for architectures without flags', () => {
    const config: Record<string, unknown> = {};
    const none = new Set<string>();
    declareBiases(m, config, none);
    expect(config).toEqual({});
    expect(none.size).toBe(0);
    const w = declareBiases({ ...m, modelType: 'mistral' }, {}, new Set(['model.layers.0.mlp.gate_proj']));
    expect(w[0]).toMatch(/mistral has no config flag/);
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

const tmpLeft = () => readdirSync(root).filter((n) => n.includes('stade-tmp'));

describe('ModelSaver', () => {
  it('writes a loadable sharded folder layer by layer: config flags, zero biases, tokenizer, card, given dtype', () => {
    const { model, ckpt } = fakeLlama();
    const out = join(root, 'saved');
    const io = captureIo();
    const biases = new Set(['model.layers.1.mlp.down_proj']);
    const s = ModelSaver.begin(model, { ckpt, out, dtype: 'F16', maxShardBytes: 24, overwrite: false, biases }, io);
    expect(io.temps.size).toBe(1);
    writeAll(s, model, true);
    s.finish('# card\n');
    expect(Checkpoint.open(s.dir).get('model.layers.0.self_attn.q_proj.weight').toArray()).toEqual(W.toArray());
    s.publish();
    expect(io.temps.size).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toContain('model.safetensors.index.json');
    expect(files).toContain('tokenizer.json');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('# card\n');
    expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.mlp_bias).toBe(true);
    expect(cfg.attention_bias).toBeUndefined();
    const ck = Checkpoint.open(out);
    expect(ck.dtype).toBe('F16');
    expect(ck.get('model.layers.1.mlp.down_proj.bias').toArray()).toEqual([0.25, -0.5]);
    expect(ck.get('model.layers.0.mlp.gate_proj.bias').toArray()).toEqual([0, 0]);
    expect(ck.has('model.layers.0.self_attn.q_proj.bias')).toBe(false);
    expect(ck.get('model.layers.1.self_attn.o_proj.weight').toArray()).toEqual([0.5, 0, -1.25, 2]);
    expect(ck.get('model.layers.1.input_layernorm.weight').toArray()).toEqual([1, 1.5]);
    ck.close();
    ckpt.close();
    expect(tmpLeft()).toEqual([]);
  });

  it('copies untouched tensors byte for byte in the checkpoint dtype, and keeps stored biases', () => {
    const { model, ckpt } = fakeLlama('BF16', true);
    const out = join(root, 'bf16');
    const biases = new Set<string>();
    expect(() =>
      ModelSaver.begin(
        model,
        { ckpt, out, dtype: 'BF16', maxShardBytes: 1e9, overwrite: false, biases },
        captureIo(),
      ).writeLayer({ name: 'model.layers.1.mlp.down_proj', weight: W, bias: W.select(0, 0) }),
    ).toThrow(/gained a bias the output did not plan for/);
    for (const t of tmpLeft()) rmSync(join(root, t), { recursive: true });
    const s = ModelSaver.begin(
      model,
      { ckpt, out, dtype: 'BF16', maxShardBytes: 1e9, overwrite: false, biases },
      captureIo(),
    );
    writeAll(s, model);
    s.finish('c');
    s.publish();
    const ck = Checkpoint.open(out);
    for (const n of ['model.embed_tokens.weight', 'model.layers.0.input_layernorm.weight']) {
      expect(ck.file(n).readRaw(n)).toEqual(ckpt.file(n).readRaw(n));
    }
    expect(ck.get('model.layers.0.mlp.gate_proj.bias').toArray()).toEqual([7, 8]);
    ck.close();
    ckpt.close();
  });

  it('replaces an existing --out only with overwrite', () => {
    const { model, ckpt } = fakeLlama();
    const out = join(root, 'saved2');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old');
    const opts = { ckpt, out, dtype: 'F32' as const, maxShardBytes: 1e9, overwrite: false, biases: new Set<string>() };
    expect(() => ModelSaver.begin(model, opts, captureIo())).toThrow(/already exists/);
    const s = ModelSaver.begin(model, { ...opts, overwrite: true }, captureIo());
    writeAll(s, model);
    s.finish('c');
    s.publish();
    expect(existsSync(join(out, 'old.txt'))).toBe(false);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    ckpt.close();
    expect(tmpLeft()).toEqual([]);
  });

  it('a layer missing at finish is an error; abort leaves nothing', () => {
    const { model, ckpt } = fakeLlama();
    const out = join(root, 'incomplete');
    const io = captureIo();
    const s = ModelSaver.begin(
      model,
      { ckpt, out, dtype: 'F32', maxShardBytes: 1e9, overwrite: false, biases: new Set() },
      io,
    );
    s.writeLayer({ name: 'model.layers.0.self_attn.q_proj', weight: W, bias: null });
    expect(() => s.finish('c')).toThrow(/was never written/);
    s.abort();
    expect(existsSync(out)).toBe(false);
    expect(tmpLeft()).toEqual([]);
    expect(io.temps.size).toBe(0);
    ckpt.close();
  });

  it('a write error (ENOSPC from an injected writer) gives one line naming the file and leaves nothing', () => {
    const { model, ckpt } = fakeLlama();
    const out = join(root, 'nospace');
    const createWriter = enospcWriters(3);
    const io = captureIo();
    const s = ModelSaver.begin(
      model,
      { ckpt, out, dtype: 'F32', maxShardBytes: 1e9, overwrite: false, biases: new Set(), createWriter },
      io,
    );
    let err: unknown;
    try {
      writeAll(s, model);
    } catch (e) {
      err = e;
      s.abort();
    }
    expect(errorLine(err)).toMatch(
      /^stade: error: .*model\.safetensors: cannot write \(ENOSPC\): no space left on device$/,
    );
    expect(errorLine(err).split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    expect(tmpLeft()).toEqual([]);
    expect(io.temps.size).toBe(0);
    ckpt.close();
  });
});

describe('removeStaleTemps', () => {
  it("removes temporary folders of dead processes beside --out, not this process's", () => {
    const out = join(root, 'model-out');
    const dead = join(root, '.model-out.stade-tmp-999999999-abc');
    const mine = join(root, `${tempPrefix(out)}-xyz`);
    const other = join(root, '.other.stade-tmp-999999999-abc');
    for (const d of [dead, mine, other]) mkdirSync(d);
    writeFileSync(join(dead, 'model.safetensors'), 'partial');
    expect(removeStaleTemps(out)).toEqual([dead]);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(other)).toBe(true);
    for (const d of [mine, other]) rmSync(d, { recursive: true });
  });
});
