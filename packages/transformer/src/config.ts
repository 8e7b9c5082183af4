import { ConfigError, fmtValue } from './errors.js';

/** Rotary scaling stade implements (transformers' `rope_scaling` / `rope_parameters` of these types). */
export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | {
      rope_type: 'llama3';
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    };

/** Keys shared by every architecture, with Hugging Face names. */
export interface CommonConfig {
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Per-head width: config `head_dim` when given, else hidden_size / num_attention_heads. */
  head_dim: number;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  /** `torch_dtype` (or transformers 5's `dtype`) as written, e.g. "float16"; null when absent. */
  torch_dtype: string | null;
  /** The config.json object as read. */
  raw: Readonly<Record<string, unknown>>;
}

export type OptActivation = 'relu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'silu' | 'swish';

/** OPTConfig (modeling_opt.py). */
export interface OptConfig extends CommonConfig {
  model_type: 'opt';
  ffn_dim: number;
  do_layer_norm_before: boolean;
  _remove_final_layer_norm: boolean;
  /** Width of the token embeddings; project_in/project_out exist when it differs from hidden_size. */
  word_embed_proj_dim: number;
  enable_bias: boolean;
  layer_norm_elementwise_affine: boolean;
  activation_function: OptActivation;
}

export type AttentionKind = 'full_attention' | 'sliding_attention';

/** LlamaConfig and its variants MistralConfig and Qwen2Config (modeling_llama/mistral/qwen2.py). */
export interface LlamaConfig extends CommonConfig {
  model_type: 'llama' | 'mistral' | 'qwen2';
  intermediate_size: number;
  num_key_value_heads: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  hidden_act: 'silu';
  /** `attention_bias` as configured (llama); false for mistral (no biases) and qwen2 (see qkv_bias). */
  attention_bias: boolean;
  mlp_bias: boolean;
  /** Derived: q_proj/k_proj/v_proj have biases (llama: attention_bias; qwen2: always; mistral: never). */
  qkv_bias: boolean;
  /** Derived: o_proj has a bias (llama: attention_bias; mistral and qwen2: never). */
  o_proj_bias: boolean;
  /** The effective window (tokens) of sliding-attention layers, null when no layer slides. */
  sliding_window: number | null;
  /** qwen2 only (false elsewhere): whether `sliding_window` is used at all. */
  use_sliding_window: boolean;
  /** qwen2 only: layers at or above this index slide when use_sliding_window. */
  max_window_layers: number | null;
  /** Per layer: full or sliding-window causal attention. */
  layer_types: readonly AttentionKind[];
}

export type ModelConfig = OptConfig | LlamaConfig;

/** The model_type values stade can run. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = Object.freeze(['opt', 'llama', 'mistral', 'qwen2']);

type Raw = Record<string, unknown>;

/** Reads config keys with type checks; every failure is a ConfigError naming the file and key. */
class Reader {
  constructor(
    readonly raw: Raw,
    readonly file: string,
    readonly modelType: string,
  ) {}

  fail(key: string, msg: string): never {
    throw new ConfigError(`${this.file}: key ${fmtValue(key)}: ${msg}`, { file: this.file, key });
  }

  /** The value, or undefined when missing or JSON null (transformers treats null as "use the default"). */
  get(key: string): unknown {
    const v: unknown = Object.hasOwn(this.raw, key) ? Object.getOwnPropertyDescriptor(this.raw, key)?.value : undefined;
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** An integer in [min, max] (sizes are capped at 2^31 - 1: no real model comes near). */
  int(key: string, fallback?: number, min = 1, max = 2 ** 31 - 1): number {
    const v = this.get(key);
    if (v === undefined) {
      if (fallback === undefined) this.fail(key, `missing (required for model_type ${fmtValue(this.modelType)})`);
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.fail(key, `expected an integer from ${min} to ${max}, got ${fmtValue(v)}`);
    }
    return v;
  }

  num(key: string, fallback: number, positive = true): number {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
      this.fail(key, `expected a ${positive ? 'positive ' : ''}finite number, got ${fmtValue(v)}`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${fmtValue(v)}`);
    return v;
  }

  str<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.fail(key, `unsupported value ${fmtValue(v)} (supported: ${allowed.join(', ')})`);
    }
    return v as T;
  }
}

function common(
  r: Reader,
  hiddenKey: string,
  tieDefault: boolean,
): Omit<CommonConfig, 'head_dim' | 'max_position_embeddings'> {
  const dtype = r.get('torch_dtype') ?? r.get('dtype');
  return {
    model_type: r.modelType,
    vocab_size: r.int('vocab_size'),
    hidden_size: r.int(hiddenKey),
    num_hidden_layers: r.int('num_hidden_layers', undefined, 1, 100_000),
    num_attention_heads: r.int('num_attention_heads'),
    tie_word_embeddings: r.bool('tie_word_embeddings', tieDefault),
    torch_dtype: typeof dtype === 'string' ? dtype : null,
    raw: r.raw,
  };
}

function optConfig(r: Reader): OptConfig {
  // Old OPT configs spell hidden_size as d_model (OPTConfig's attribute_map).
  const base = common(r, r.has('hidden_size') || !r.has('d_model') ? 'hidden_size' : 'd_model', true);
  if (base.hidden_size % base.num_attention_heads !== 0) {
    r.fail(
      'num_attention_heads',
      `hidden_size ${base.hidden_size} is not divisible by num_attention_heads ${base.num_attention_heads}`,
    );
  }
  return {
    ...base,
    model_type: 'opt',
    head_dim: base.hidden_size / base.num_attention_heads,
    max_position_embeddings: r.int('max_position_embeddings', 2048),
    ffn_dim: r.int('ffn_dim'),
    do_layer_norm_before: r.bool('do_layer_norm_before', true),
    _remove_final_layer_norm: r.bool('_remove_final_layer_norm', false),
    word_embed_proj_dim: r.int('word_embed_proj_dim', base.hidden_size),
    enable_bias: r.bool('enable_bias', true),
    layer_norm_elementwise_affine: r.bool('layer_norm_elementwise_affine', true),
    activation_function: r.str<OptActivation>('activation_function', 'relu', [
      'relu',
      'gelu',
      'gelu_new',
      'gelu_pytorch_tanh',
      'silu',
      'swish',
    ]),
  };
}

/** Reads rope_theta and the scaling from transformers 5's `rope_parameters` or the older `rope_theta`/`rope_scaling`. */
function rope(r: Reader): { rope_theta: number; rope_scaling: RopeScaling | null } {
  const params = r.get('rope_parameters');
  const key = params !== undefined ? 'rope_parameters' : 'rope_scaling';
  const obj = params ?? r.get('rope_scaling');
  let theta = r.num('rope_theta', 10000);
  if (obj === undefined) return { rope_theta: theta, rope_scaling: null };
  if (typeof obj !== 'object' || Array.isArray(obj)) r.fail(key, `expected an object, got ${fmtValue(obj)}`);
  const sub = new Reader(obj as Raw, r.file, r.modelType);
  const field = (k: string): number => {
    const v = sub.get(k);
    if (v === undefined) return r.fail(`${key}.${k}`, 'missing');
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      r.fail(`${key}.${k}`, `expected a positive finite number, got ${fmtValue(v)}`);
    }
    return v as number;
  };
  if (params !== undefined && sub.has('rope_theta')) theta = field('rope_theta');
  const typeKey = sub.has('rope_type') ? 'rope_type' : 'type';
  const type = sub.get(typeKey) ?? 'default';
  switch (type) {
    case 'default':
      return { rope_theta: theta, rope_scaling: null };
    case 'linear':
      return { rope_theta: theta, rope_scaling: { rope_type: 'linear', factor: field('factor') } };
    case 'llama3':
      return {
        rope_theta: theta,
        rope_scaling: {
          rope_type: 'llama3',
          factor: field('factor'),
          low_freq_factor: field('low_freq_factor'),
          high_freq_factor: field('high_freq_factor'),
          original_max_position_embeddings: field('original_max_position_embeddings'),
        },
      };
    default:
      return r.fail(
        `${key}.${typeKey}`,
        `unsupported rope type ${fmtValue(type)} (supported: default, linear, llama3)`,
      );
  }
}

function llamaConfig(r: Reader, type: 'llama' | 'mistral' | 'qwen2'): LlamaConfig {
  const base = common(r, 'hidden_size', false);
  const heads = base.num_attention_heads;
  const kvDefault = type === 'mistral' && !r.has('num_key_value_heads') ? 8 : heads;
  const kv = r.int('num_key_value_heads', kvDefault);
  if (heads % kv !== 0)
    r.fail('num_key_value_heads', `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kv}`);
  const maxPos = { llama: 2048, mistral: 4096 * 32, qwen2: 32768 }[type];
  const attentionBias = type === 'llama' ? r.bool('attention_bias', false) : false;
  const mlpBias = type === 'llama' ? r.bool('mlp_bias', false) : false;
  const layers = base.num_hidden_layers;
  let window: number | null = null;
  let useSliding = false;
  let maxWindowLayers: number | null = null;
  let kinds: AttentionKind[];
  if (type === 'mistral') {
    window = r.has('sliding_window') ? r.int('sliding_window') : r.raw.sliding_window === null ? null : 4096;
    kinds = new Array<AttentionKind>(layers).fill(window === null ? 'full_attention' : 'sliding_attention');
  } else if (type === 'qwen2') {
    useSliding = r.bool('use_sliding_window', false);
    maxWindowLayers = r.int('max_window_layers', 28, 0);
    const w = r.has('sliding_window') ? r.int('sliding_window') : r.raw.sliding_window === null ? null : 4096;
    window = useSliding ? w : null;
    kinds = Array.from({ length: layers }, (_, i) =>
      window !== null && i >= maxWindowLayers! ? 'sliding_attention' : 'full_attention',
    );
  } else {
    kinds = new Array<AttentionKind>(layers).fill('full_attention');
  }
  const explicit = r.get('layer_types');
  if (explicit !== undefined && type !== 'mistral') {
    if (
      !Array.isArray(explicit) ||
      explicit.length !== layers ||
      !explicit.every((k) => k === 'full_attention' || k === 'sliding_attention')
    ) {
      r.fail(
        'layer_types',
        `expected ${layers} entries of "full_attention" or "sliding_attention", got ${fmtValue(explicit)}`,
      );
    }
    kinds = [...(explicit as AttentionKind[])];
    if (kinds.includes('sliding_attention') && window === null) {
      r.fail('layer_types', 'has sliding_attention layers but no sliding_window is in use');
    }
  }
  if (!kinds.includes('sliding_attention')) window = null;
  return {
    ...base,
    model_type: type,
    head_dim: r.int('head_dim', Math.floor(base.hidden_size / heads)),
    max_position_embeddings: r.int('max_position_embeddings', maxPos),
    intermediate_size: r.int('intermediate_size'),
    num_key_value_heads: kv,
    rms_norm_eps: r.num('rms_norm_eps', 1e-6),
    ...rope(r),
    hidden_act: r.str('hidden_act', 'silu', ['silu'] as const),
    attention_bias: attentionBias,
    mlp_bias: mlpBias,
    qkv_bias: type === 'qwen2' ? true : attentionBias,
    o_proj_bias: attentionBias,
    sliding_window: window,
    use_sliding_window: useSliding,
    max_window_layers: maxWindowLayers,
    layer_types: Object.freeze(kinds),
  };
}

/**
 * Normalises a config.json object for model_type opt, llama, mistral or qwen2: snake_case keys kept, defaults
 * filled as transformers' configuration_*.py does, values type-checked. The structural sizes (vocab_size,
 * hidden_size, num_hidden_layers, num_attention_heads, ffn_dim / intermediate_size) are required.
 * Throws ConfigError naming `file` and the key.
 */
export function normalizeConfig(raw: Readonly<Record<string, unknown>>, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${file}: expected a JSON object, got ${fmtValue(raw, 40)}`, { file });
  }
  const type: unknown = Object.hasOwn(raw, 'model_type') ? raw.model_type : undefined;
  if (type === undefined || type === null) {
    throw new ConfigError(`${file}: key "model_type": missing (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`, {
      file,
      key: 'model_type',
    });
  }
  if (typeof type !== 'string' || !SUPPORTED_MODEL_TYPES.includes(type)) {
    throw new ConfigError(
      `${file}: key "model_type": unsupported model_type ${fmtValue(type)} (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
      {
        file,
        key: 'model_type',
      },
    );
  }
  const r = new Reader(raw as Raw, file, type);
  return type === 'opt' ? optConfig(r) : llamaConfig(r, type as 'llama' | 'mistral' | 'qwen2');
}

/** The sliding window (tokens) of layer `i`, or null when it attends to the whole causal prefix. */
export function slidingWindowFor(cfg: ModelConfig, i: number): number | null {
  if (cfg.model_type === 'opt') return null;
  return cfg.layer_types[i] === 'sliding_attention' ? cfg.sliding_window : null;
}
