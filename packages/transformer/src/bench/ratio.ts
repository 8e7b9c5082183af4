// Prefill against the linear kernel, measured in the same run (issue 9, item 6): the effective GFLOP/s of a full
// forward pass (flops of every linear layer, q k^T and p v over the full T x T block as eager attention counts
// them, and the head) divided by the GFLOP/s the linear kernel reaches on the same model's layer shapes.
// Both are timed alternately, best of `repeats`, so machine load affects both alike.
import { getThreads, linearInto, setThreads, Tensor } from '@stade/tensor';
import { normalizeConfig } from '../config.js';
import { type CausalLM, MemorySource } from '../model.js';
import { LlamaModel } from '../models/llama.js';
import { type BenchResult, randomIds, randomOptModel } from './prefill.js';

/** TinyLlama-1.1B's shape (vocab 50257 as in issue 9's test folder); the weights here are random. */
export const LLAMA_1B_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  model_type: 'llama',
  vocab_size: 50257,
  hidden_size: 2048,
  intermediate_size: 5632,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  num_hidden_layers: 22,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
});

/** A uniform [-s, s) tensor from a cheap LCG (benchmark weights; values do not matter, only finiteness). */
function uniform(shape: number[], seed: number, s: number): Tensor {
  const t = Tensor.zeros(shape);
  let x = seed >>> 0 || 1;
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    d[i] = ((x / 4294967296) * 2 - 1) * s;
  }
  return t;
}

/**
 * A random Llama of `config`'s shape whose blocks all share one block's weight tensors (and lm_head shares the
 * embedding's), so a 22-block 1.1B shape needs one block plus the embedding in memory. The forward pass does
 * the full model's work.
 */
export function randomSharedLlama(config: Readonly<Record<string, unknown>> = LLAMA_1B_CONFIG): CausalLM {
  const cfg = normalizeConfig({ ...config }, '<random llama>');
  if (cfg.model_type === 'opt') throw new Error('randomSharedLlama: a llama config is needed');
  const h = cfg.hidden_size;
  const m = cfg.intermediate_size;
  const qd = cfg.num_attention_heads * cfg.head_dim;
  const kvd = cfg.num_key_value_heads * cfg.head_dim;
  const ws = (fanIn: number) => Math.sqrt(3 / fanIn);
  const block: [string, Tensor][] = [
    ['self_attn.q_proj.weight', uniform([qd, h], 1, ws(h))],
    ['self_attn.k_proj.weight', uniform([kvd, h], 2, ws(h))],
    ['self_attn.v_proj.weight', uniform([kvd, h], 3, ws(h))],
    ['self_attn.o_proj.weight', uniform([h, qd], 4, ws(qd))],
    ['mlp.gate_proj.weight', uniform([m, h], 5, ws(h))],
    ['mlp.up_proj.weight', uniform([m, h], 6, ws(h))],
    ['mlp.down_proj.weight', uniform([h, m], 7, ws(m))],
    ['input_layernorm.weight', Tensor.full([h], 1)],
    ['post_attention_layernorm.weight', Tensor.full([h], 1)],
  ];
  const embed = uniform([cfg.vocab_size, h], 8, 0.1);
  const tensors: [string, Tensor][] = [
    ['model.embed_tokens.weight', embed],
    ['lm_head.weight', embed],
    ['model.norm.weight', Tensor.full([h], 1)],
  ];
  for (let i = 0; i < cfg.num_hidden_layers; i++)
    for (const [name, t] of block) tensors.push([`model.layers.${i}.${name}`, t]);
  return new LlamaModel(new MemorySource({ ...config }, tensors, '<random llama>'), cfg);
}

/**
 * A forward pass with caller-owned outputs (`embed(ids, h)`, blocks in place, `head(h, logits)`): the same
 * computation as `model.forward(ids)` in a steady-state loop, where the logits buffer is reused instead of taking
 * fresh memory (first touch of fresh pages costs ~15 µs per 4 KB on the project's VM; the kernel bench reuses its
 * outputs likewise). Returns `logits`.
 */
export function prefillInto(model: CausalLM, ids: Int32Array, h: Tensor, logits: Tensor): Tensor {
  model.embed(ids, h);
  for (let i = 0; i < model.numBlocks; i++) model.block(i, h, { out: h });
  return model.head(h, logits);
}

/** CPU seconds (user + system, all threads of the process) since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/** The linear layers of one forward pass over T tokens: `[in, out, count]` per distinct shape (blocks and head). */
function linearShapes(model: CausalLM): { w: Tensor; b: Tensor | null; count: number }[] {
  const out = model.linearNames(0).map((n) => {
    const l = model.getLinear(n);
    return { w: l.weight, b: l.bias, count: model.numBlocks };
  });
  out.push({ w: Tensor.zeros([model.vocabSize, model.hiddenSize]), b: null, count: 1 }); // the head
  return out;
}

/** Flops of one forward pass over T tokens with logits for every position (attention over the full T x T). */
export function prefillFlops(model: CausalLM, T: number): number {
  const q = model.getLinear(model.linearNames(0)[0]!).weight.shape[0]!; // heads * head_dim
  let f = 4 * T * T * q * model.numBlocks;
  for (const { w, count } of linearShapes(model)) f += 2 * T * w.shape[0]! * w.shape[1]! * count;
  return f;
}

/**
 * Prefill GFLOP/s of `model` over `seqlen` tokens against the linear kernel's GFLOP/s on the same layer shapes
 * (time-weighted over one forward pass's linear layers), timed alternately in one run.
 */
export function benchPrefillRatio(
  model: CausalLM,
  label: string,
  opts: { threads: number; seqlen: number; repeats?: number },
): BenchResult {
  const T = opts.seqlen;
  const ids = randomIds(T, model.vocabSize, 7);
  const shapes = linearShapes(model).map((s) => ({
    ...s,
    x: uniform([T, s.w.shape[1]!], 9, 1),
    y: Tensor.zeros([T, s.w.shape[0]!]),
  }));
  const kernelFlops = shapes.reduce((a, s) => a + 2 * T * s.w.shape[0]! * s.w.shape[1]! * s.count, 0);
  const h = Tensor.zeros([T, model.hiddenSize]);
  const logits = Tensor.zeros([T, model.vocabSize]);
  const before = getThreads();
  setThreads(opts.threads);
  try {
    prefillInto(model, ids, h, logits); // warm-up: loads weights, sizes the workspace, compiles kernels
    let prefill = Infinity;
    let kernel = Infinity;
    let prefillCpu = Infinity;
    let kernelCpu = Infinity;
    for (let r = 0; r < (opts.repeats ?? 2); r++) {
      let c0 = process.cpuUsage();
      let t0 = performance.now();
      prefillInto(model, ids, h, logits);
      prefill = Math.min(prefill, (performance.now() - t0) / 1000);
      prefillCpu = Math.min(prefillCpu, cpuSeconds(c0));
      // each distinct layer shape once, weighted by how often a forward pass runs it
      let k = 0;
      let kc = 0;
      for (const s of shapes) {
        c0 = process.cpuUsage();
        t0 = performance.now();
        linearInto(s.x, s.w, s.b, s.y);
        k += ((performance.now() - t0) / 1000) * s.count;
        kc += cpuSeconds(c0) * s.count;
      }
      kernel = Math.min(kernel, k);
      kernelCpu = Math.min(kernelCpu, kc);
    }
    const flops = prefillFlops(model, T);
    const gflops = flops / prefill / 1e9;
    const kernelGflops = kernelFlops / kernel / 1e9;
    // per CPU-second of the process (all threads): less sensitive to a loaded machine than wall time
    const cpuRatio = flops / prefillCpu / (kernelFlops / kernelCpu);
    return {
      name: `prefill/kernel ${label} seqlen ${T}`,
      value: gflops / kernelGflops,
      unit: 'ratio',
      threads: opts.threads,
      detail: {
        gflops,
        kernelGflops,
        cpuRatio,
        seconds: prefill,
        cpuSeconds: prefillCpu,
        tokensPerSecond: T / prefill,
      },
    };
  } finally {
    setThreads(before);
  }
}

/** Prefill/kernel ratio cases: OPT-125M's shape (seqlen 2048 by default) and the 1.1B Llama shape (512). */
export function ratioBenchCases(
  opts: { seqlen?: number; llamaSeqlen?: number; threads?: number[]; repeats?: number } = {},
): { name: string; run: () => BenchResult[] }[] {
  const threads = opts.threads ?? [1, 2];
  return [
    {
      name: 'transformer.prefill-ratio-opt',
      run: () => {
        const m = randomOptModel();
        const T = opts.seqlen ?? 2048;
        return threads.map((t) =>
          benchPrefillRatio(m, 'opt-125m-shaped', { threads: t, seqlen: T, repeats: opts.repeats }),
        );
      },
    },
    {
      name: 'transformer.prefill-ratio-llama',
      run: () => {
        const m = randomSharedLlama();
        const T = opts.llamaSeqlen ?? 512;
        return threads.map((t) =>
          benchPrefillRatio(m, 'llama-1.1b-shaped', { threads: t, seqlen: T, repeats: opts.repeats }),
        );
      },
    },
  ];
}
