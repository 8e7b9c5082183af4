// Benchmark cases of @stade/transformer (issue 3, "Speed"): prefill tokens/s of a random OPT-125M-shaped model
// and the wall time of a perplexity run. The model is built in memory (MemorySource), no checkpoint file needed.
import { getThreads, setThreads, Tensor } from '@stade/tensor';
import { normalizeConfig } from '../config.js';
import { perplexity } from '../eval/perplexity.js';
import { type CausalLM, MemorySource } from '../model.js';
import { OptModel } from '../models/opt.js';

/** The config.json of facebook/opt-125m (the shape only; the weights here are random). */
export const OPT_125M_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  model_type: 'opt',
  vocab_size: 50272,
  hidden_size: 768,
  word_embed_proj_dim: 768,
  ffn_dim: 3072,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  max_position_embeddings: 2048,
  do_layer_norm_before: true,
  activation_function: 'relu',
  enable_bias: true,
  tie_word_embeddings: true,
});

const POOL = 1 << 20;
const pools = new Map<number, Float32Array>(); // scale -> pool

/**
 * Fills `a` with values uniform in [-s, s): slices of a pool of 2^20 xorshift32 draws at seeded offsets
 * (filling 125M parameters one draw at a time would take longer than the benchmark itself).
 */
function fillUniform(a: Float32Array, seed: number, s: number): void {
  let pool = pools.get(s);
  if (!pool) {
    pool = new Float32Array(POOL);
    let x = 2463534242;
    for (let i = 0; i < POOL; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      pool[i] = (((x >>> 0) / 4294967296) * 2 - 1) * s;
    }
    pools.set(s, pool);
  }
  let o = (seed >>> 0) % POOL;
  for (let i = 0; i < a.length; ) {
    const n = Math.min(a.length - i, POOL - o);
    a.set(pool.subarray(o, o + n), i);
    i += n;
    o = (o * 7 + 12345) % POOL;
  }
}

/** A random OPT model of the given config (default: OPT-125M-shaped), held in memory. */
export function randomOptModel(overrides: Record<string, unknown> = {}, seed = 1): CausalLM {
  const raw = { ...OPT_125M_CONFIG, ...overrides };
  const cfg = normalizeConfig(raw, '<random opt>');
  if (cfg.model_type !== 'opt') throw new Error('randomOptModel: model_type must be opt');
  const h = cfg.hidden_size;
  const f = cfg.ffn_dim;
  const tensors: [string, Tensor][] = [];
  let n = seed;
  const rand = (name: string, shape: number[], s: number) => {
    const t = Tensor.zeros(shape);
    fillUniform(t.data, n++ * 2654435761, s);
    tensors.push([name, t]);
  };
  const ones = (name: string, shape: number[]) => tensors.push([name, Tensor.full(shape, 1)]);
  rand('model.decoder.embed_tokens.weight', [cfg.vocab_size, h], 0.1);
  rand('model.decoder.embed_positions.weight', [cfg.max_position_embeddings + 2, h], 0.1);
  ones('model.decoder.final_layer_norm.weight', [h]);
  rand('model.decoder.final_layer_norm.bias', [h], 0.01);
  const ws = (fanIn: number) => Math.sqrt(3 / fanIn);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.decoder.layers.${i}.`;
    for (const l of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      rand(`${p}self_attn.${l}.weight`, [h, h], ws(h));
      rand(`${p}self_attn.${l}.bias`, [h], 0.01);
    }
    rand(`${p}fc1.weight`, [f, h], ws(h));
    rand(`${p}fc1.bias`, [f], 0.01);
    rand(`${p}fc2.weight`, [h, f], ws(f));
    rand(`${p}fc2.bias`, [h], 0.01);
    for (const ln of ['self_attn_layer_norm', 'final_layer_norm']) {
      ones(`${p}${ln}.weight`, [h]);
      rand(`${p}${ln}.bias`, [h], 0.01);
    }
  }
  return new OptModel(new MemorySource(raw, tensors, '<random opt>'), cfg);
}

/**
 * Floating-point operations of one OPT forward pass over `T` tokens with logits for every position: the linear
 * layers, q k^T and p v over the full T x T block (as eager attention computes them), and the head.
 */
export function forwardFlops(config: Readonly<Record<string, unknown>>, T: number): number {
  const h = config.hidden_size as number;
  const f = config.ffn_dim as number;
  const L = config.num_hidden_layers as number;
  const V = config.vocab_size as number;
  return L * (2 * T * (4 * h * h + 2 * h * f) + 4 * T * T * h) + 2 * T * h * V;
}

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  threads: number;
  /** Extra figures (seconds, token counts...). */
  detail?: Record<string, number>;
}

/** `n` pseudo-random token ids in [0, vocab). */
export function randomIds(n: number, vocab: number, seed: number): Int32Array {
  const ids = new Int32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    ids[i] = x % vocab;
  }
  return ids;
}

/** CPU seconds (user + system, all threads of the process) since `since`: less sensitive to a busy machine than wall time. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function withThreads<T>(threads: number, f: () => T): T {
  const before = getThreads();
  setThreads(threads);
  try {
    return f();
  } finally {
    setThreads(before);
  }
}

/** Prefill (a full forward pass with logits) of `seqlen` tokens: tokens per second, best of `repeats`. */
export function benchPrefill(
  model: CausalLM,
  opts: { threads: number; seqlen?: number; repeats?: number },
): BenchResult {
  const seqlen = opts.seqlen ?? 2048;
  const ids = randomIds(seqlen, model.vocabSize, 7);
  return withThreads(opts.threads, () => {
    model.forward(ids.subarray(0, 16)); // warm-up: loads weights, compiles kernels
    let best = Infinity;
    let cpu = Infinity;
    for (let r = 0; r < (opts.repeats ?? 1); r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      model.forward(ids);
      best = Math.min(best, (performance.now() - t0) / 1000);
      cpu = Math.min(cpu, cpuSeconds(c0));
    }
    const gflops = forwardFlops(model.config, seqlen) / best / 1e9;
    return {
      name: `prefill opt-125m-shaped seqlen ${seqlen}`,
      value: seqlen / best,
      unit: 'tokens/s',
      threads: opts.threads,
      detail: { seconds: best, gflops, cpuSeconds: cpu },
    };
  });
}

/** Wall time of `perplexity` over `windows` windows of `seqlen` tokens. */
export function benchPerplexity(
  model: CausalLM,
  opts: { threads: number; seqlen?: number; windows?: number },
): BenchResult {
  const seqlen = opts.seqlen ?? 2048;
  const windows = opts.windows ?? 16;
  const ids = randomIds(seqlen * windows, model.vocabSize, 11);
  return withThreads(opts.threads, () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = perplexity(model, ids, { seqlen });
    const s = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(c0);
    return {
      name: `perplexity opt-125m-shaped ${windows} x ${seqlen}`,
      value: s,
      unit: 's',
      threads: opts.threads,
      detail: { windows: r.windows, tokensPerSecond: (windows * seqlen) / s, ppl: r.ppl, cpuSeconds: cpu },
    };
  });
}

/** The transformer bench cases: prefill at 1 and 2 threads, then the perplexity wall time at the given threads. */
export function transformerBenchCases(
  opts: { seqlen?: number; windows?: number; threads?: number[] } = {},
): { name: string; run: () => BenchResult[] }[] {
  const threads = opts.threads ?? [1, 2];
  let model: CausalLM | null = null;
  const get = () => (model ??= randomOptModel());
  return [
    {
      name: 'transformer.prefill',
      run: () => threads.map((t) => benchPrefill(get(), { threads: t, seqlen: opts.seqlen })),
    },
    {
      name: 'transformer.perplexity',
      run: () => [
        benchPerplexity(get(), { threads: Math.max(...threads), seqlen: opts.seqlen, windows: opts.windows }),
      ],
    },
  ];
}
