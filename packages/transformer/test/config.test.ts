import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError, type LlamaConfig, normalizeConfig, type OptConfig, slidingWindowFor } from '../src/index.js';

const FILE = '/m/config.json';
const LLAMA = {
  model_type: 'llama',
  vocab_size: 32,
  hidden_size: 64,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  intermediate_size: 96,
};
const OPT = {
  model_type: 'opt',
  vocab_size: 50,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  ffn_dim: 32,
};

const llama = (extra: Record<string, unknown> = {}) => normalizeConfig({ ...LLAMA, ...extra }, FILE) as LlamaConfig;
const opt = (extra: Record<string, unknown> = {}) => normalizeConfig({ ...OPT, ...extra }, FILE) as OptConfig;

function expectConfigError(fn: () => unknown, key: string, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const e = err as ConfigError;
  expect(e.message).toMatch(re);
  expect(e.message).toContain(FILE);
  expect(e.message).toContain(JSON.stringify(key));
  expect(e.file).toBe(FILE);
  expect(e.key).toBe(key);
}

describe('normalizeConfig: defaults as in transformers', () => {
  test('llama', () => {
    const c = llama();
    expect(c).toMatchObject({
      model_type: 'llama',
      head_dim: 16,
      num_key_value_heads: 4,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      rope_scaling: null,
      tie_word_embeddings: false,
      attention_bias: false,
      mlp_bias: false,
      qkv_bias: false,
      o_proj_bias: false,
      max_position_embeddings: 2048,
      hidden_act: 'silu',
      sliding_window: null,
      layer_types: ['full_attention', 'full_attention', 'full_attention'],
    });
    expect(c.raw).toMatchObject(LLAMA);
    expect(llama({ attention_bias: true, mlp_bias: true })).toMatchObject({
      qkv_bias: true,
      o_proj_bias: true,
      mlp_bias: true,
    });
    expect(llama({ head_dim: 32, num_key_value_heads: 2 })).toMatchObject({ head_dim: 32, num_key_value_heads: 2 });
    expect(llama({ num_key_value_heads: null }).num_key_value_heads).toBe(4);
  });

  test('opt (pre-LN, and the opt-350m shape)', () => {
    expect(opt()).toMatchObject({
      head_dim: 8,
      do_layer_norm_before: true,
      _remove_final_layer_norm: false,
      word_embed_proj_dim: 16,
      enable_bias: true,
      layer_norm_elementwise_affine: true,
      activation_function: 'relu',
      tie_word_embeddings: true,
      max_position_embeddings: 2048,
    });
    expect(opt({ do_layer_norm_before: false, word_embed_proj_dim: 8 })).toMatchObject({
      do_layer_norm_before: false,
      word_embed_proj_dim: 8,
    });
    const { hidden_size: _, ...noHidden } = OPT;
    expect((normalizeConfig({ ...noHidden, d_model: 16 }, FILE) as OptConfig).hidden_size).toBe(16);
  });

  test('mistral: 8 kv heads, window 4096 by default, null window = full attention, no biases', () => {
    const m = normalizeConfig(
      { ...LLAMA, model_type: 'mistral', num_attention_heads: 8, attention_bias: true },
      FILE,
    ) as LlamaConfig;
    expect(m).toMatchObject({
      num_key_value_heads: 8,
      head_dim: 8,
      sliding_window: 4096,
      max_position_embeddings: 131072,
      qkv_bias: false,
      o_proj_bias: false,
    });
    expect(m.layer_types.every((k) => k === 'sliding_attention')).toBe(true);
    expect(slidingWindowFor(m, 0)).toBe(4096);
    const full = normalizeConfig(
      { ...LLAMA, model_type: 'mistral', num_key_value_heads: 4, sliding_window: null },
      FILE,
    ) as LlamaConfig;
    expect(full.sliding_window).toBeNull();
    expect(slidingWindowFor(full, 2)).toBeNull();
  });

  test('qwen2: q/k/v biases, sliding window only with use_sliding_window from max_window_layers', () => {
    const q = normalizeConfig({ ...LLAMA, model_type: 'qwen2' }, FILE) as LlamaConfig;
    expect(q).toMatchObject({
      qkv_bias: true,
      o_proj_bias: false,
      mlp_bias: false,
      sliding_window: null,
      max_position_embeddings: 32768,
      max_window_layers: 28,
    });
    const s = normalizeConfig(
      { ...LLAMA, model_type: 'qwen2', use_sliding_window: true, sliding_window: 16, max_window_layers: 1 },
      FILE,
    ) as LlamaConfig;
    expect(s.layer_types).toEqual(['full_attention', 'sliding_attention', 'sliding_attention']);
    expect([0, 1, 2].map((i) => slidingWindowFor(s, i))).toEqual([null, 16, 16]);
    const t = normalizeConfig(
      {
        ...LLAMA,
        model_type: 'qwen2',
        use_sliding_window: true,
        sliding_window: 16,
        layer_types: ['sliding_attention', 'full_attention', 'full_attention'],
      },
      FILE,
    ) as LlamaConfig;
    expect([0, 1, 2].map((i) => slidingWindowFor(t, i))).toEqual([16, null, null]);
    expect(slidingWindowFor(opt(), 0)).toBeNull();
  });

  test('rope scaling: legacy rope_scaling (type or rope_type) and transformers 5 rope_parameters', () => {
    const l3 = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    expect(llama({ rope_theta: 500000, rope_scaling: { rope_type: 'llama3', ...l3 } })).toMatchObject({
      rope_theta: 500000,
      rope_scaling: { rope_type: 'llama3', ...l3 },
    });
    expect(llama({ rope_scaling: { type: 'linear', factor: 2 } }).rope_scaling).toEqual({
      rope_type: 'linear',
      factor: 2,
    });
    expect(llama({ rope_scaling: { rope_type: 'default' } }).rope_scaling).toBeNull();
    expect(llama({ rope_parameters: { rope_type: 'default', rope_theta: 1e6 } })).toMatchObject({
      rope_theta: 1e6,
      rope_scaling: null,
    });
    expect(llama({ rope_parameters: { rope_type: 'llama3', rope_theta: 5e5, ...l3 } }).rope_scaling).toEqual({
      rope_type: 'llama3',
      ...l3,
    });
  });

  test('every committed PyTorch fixture config normalises', () => {
    const dir = path.resolve(__dirname, 'fixtures');
    const configs = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .map((d) => path.join(dir, d, 'config.json'))
          .filter((p) => fs.existsSync(p))
      : [];
    for (const p of configs) {
      const raw = JSON.parse(fs.readFileSync(p, 'utf8')) as Record<string, unknown>;
      const c = normalizeConfig(raw, p);
      expect(c.model_type).toBe(raw.model_type);
      expect(c.hidden_size).toBe(raw.hidden_size);
    }
  });
});

describe('normalizeConfig: errors name the file and key', () => {
  test('unknown or missing model_type', () => {
    expectConfigError(
      () => normalizeConfig({ ...LLAMA, model_type: 'gpt_neox' }, FILE),
      'model_type',
      /unsupported model_type "gpt_neox" \(supported: opt, llama, mistral, qwen2\)/,
    );
    expectConfigError(() => normalizeConfig({ ...LLAMA, model_type: undefined }, FILE), 'model_type', /missing/);
    expectConfigError(() => normalizeConfig({ ...LLAMA, model_type: '__proto__' }, FILE), 'model_type', /unsupported/);
  });

  test.each(['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'])(
    'llama missing %s',
    (key) => {
      expectConfigError(
        () => normalizeConfig({ ...LLAMA, [key]: undefined }, FILE),
        key,
        /missing \(required for model_type "llama"\)/,
      );
    },
  );

  test.each(['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'ffn_dim'])(
    'opt missing %s',
    (key) => {
      expectConfigError(
        () => normalizeConfig({ ...OPT, [key]: undefined }, FILE),
        key,
        /missing \(required for model_type "opt"\)/,
      );
    },
  );

  test('bad values', () => {
    expectConfigError(
      () => llama({ hidden_size: '64' }),
      'hidden_size',
      /expected an integer from 1 to 2147483647, got "64"/,
    );
    expectConfigError(() => llama({ num_hidden_layers: 2.5 }), 'num_hidden_layers', /expected an integer/);
    expectConfigError(() => llama({ vocab_size: 0 }), 'vocab_size', /expected an integer from 1 to 2147483647, got 0/);
    expectConfigError(
      () => llama({ num_hidden_layers: 2 ** 40 }),
      'num_hidden_layers',
      /from 1 to 100000, got 1099511627776/,
    );
    expectConfigError(() => llama({ num_key_value_heads: 3 }), 'num_key_value_heads', /not a multiple/);
    expectConfigError(() => llama({ rms_norm_eps: -1 }), 'rms_norm_eps', /positive finite number, got -1/);
    expectConfigError(() => llama({ rope_theta: 'big' }), 'rope_theta', /positive finite number/);
    expectConfigError(
      () => llama({ tie_word_embeddings: 'yes' }),
      'tie_word_embeddings',
      /expected true or false, got "yes"/,
    );
    expectConfigError(
      () => llama({ hidden_act: 'gelu' }),
      'hidden_act',
      /unsupported value "gelu" \(supported: silu\)/,
    );
    expectConfigError(() => opt({ activation_function: 'tanh' }), 'activation_function', /unsupported value "tanh"/);
    expectConfigError(() => opt({ num_attention_heads: 3 }), 'num_attention_heads', /not divisible/);
    expectConfigError(
      () => llama({ rope_scaling: { rope_type: 'yarn', factor: 2 } }),
      'rope_scaling.rope_type',
      /unsupported rope type "yarn"/,
    );
    expectConfigError(
      () => llama({ rope_scaling: { type: 'dynamic', factor: 2 } }),
      'rope_scaling.type',
      /unsupported rope type "dynamic"/,
    );
    expectConfigError(() => llama({ rope_scaling: { rope_type: 'linear' } }), 'rope_scaling.factor', /missing/);
    expectConfigError(
      () => llama({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }),
      'rope_scaling.original_max_position_embeddings',
      /missing/,
    );
    expectConfigError(
      () => llama({ rope_scaling: { rope_type: 'linear', factor: 0 } }),
      'rope_scaling.factor',
      /positive finite number, got 0/,
    );
    expectConfigError(() => llama({ rope_scaling: 'linear' }), 'rope_scaling', /expected an object/);
    expectConfigError(
      () => llama({ rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: -5 } }),
      'rope_parameters.rope_theta',
      /positive/,
    );
    expectConfigError(
      () => normalizeConfig({ ...LLAMA, model_type: 'qwen2', layer_types: ['full_attention'] }, FILE),
      'layer_types',
      /expected 3 entries/,
    );
    expectConfigError(
      () =>
        normalizeConfig(
          { ...LLAMA, model_type: 'qwen2', layer_types: ['sliding_attention', 'full_attention', 'full_attention'] },
          FILE,
        ),
      'layer_types',
      /no sliding_window is in use/,
    );
  });

  test('not an object', () => {
    expect(() => normalizeConfig([] as unknown as Record<string, unknown>, FILE)).toThrow(
      /config\.json: expected a JSON object/,
    );
  });
});

describe('fuzz: normalizeConfig only throws ConfigError', () => {
  const keys = [
    ...new Set([
      ...Object.keys(LLAMA),
      ...Object.keys(OPT),
      'num_key_value_heads',
      'head_dim',
      'rms_norm_eps',
      'rope_theta',
      'rope_scaling',
      'rope_parameters',
      'tie_word_embeddings',
      'attention_bias',
      'mlp_bias',
      'sliding_window',
      'use_sliding_window',
      'max_window_layers',
      'layer_types',
      'do_layer_norm_before',
      'word_embed_proj_dim',
      'activation_function',
      'hidden_act',
      'd_model',
      '__proto__',
    ]),
  ];
  const arbValue = fc.oneof(
    fc.integer({ min: -2, max: 70 }),
    fc.constantFrom(2 ** 31, 2 ** 53 - 1, 1e300),
    fc.constantFrom(null, true, false, 0.5, 1e-5, 'silu', 'relu', 'llama3', 'linear', 'full_attention'),
    fc.record(
      { rope_type: fc.constantFrom('llama3', 'linear', 'default', 'yarn'), factor: fc.anything() },
      { requiredKeys: [] },
    ),
    fc.array(fc.constantFrom('full_attention', 'sliding_attention'), { maxLength: 4 }),
    fc.anything(),
  );
  test('random configs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('opt', 'llama', 'mistral', 'qwen2'),
        fc.dictionary(fc.constantFrom(...keys), arbValue, { maxKeys: 8 }),
        fc.boolean(),
        (type, extra, fromBase) => {
          const base = type === 'opt' ? OPT : LLAMA;
          const raw = { ...(fromBase ? base : {}), ...extra, model_type: type };
          try {
            const c = normalizeConfig(raw, FILE);
            expect(c.hidden_size).toBeGreaterThan(0);
            if (c.model_type !== 'opt') expect(c.layer_types.length).toBe(c.num_hidden_layers);
          } catch (e) {
            if (!(e instanceof ConfigError)) throw new Error(`non-ConfigError: ${String(e)}`, { cause: e });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
