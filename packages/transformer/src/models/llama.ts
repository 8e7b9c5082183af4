// Llama, mirroring transformers' src/transformers/models/llama/modeling_llama.py
// (https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py),
// and its two small variants: mistral (models/mistral/modeling_mistral.py: a sliding-window causal mask) and
// qwen2 (models/qwen2/modeling_qwen2.py: biases on q/k/v, none on o_proj).
// RMSNorm in float32, rotary embeddings (rotate_half; default, linear, llama3 scaling), grouped-query attention,
// SiLU-gated MLP, optional attention_bias / mlp_bias, head_dim from config, tie_word_embeddings.
import { add, addInto, linearInto, mul, mulInto, rmsNormInto, silu, siluInto, Tensor } from '@stade/tensor';
import { type LlamaConfig, slidingWindowFor } from '../config.js';
import { ConfigError } from '../errors.js';
import { causalAttentionInto } from '../layers/attention.js';
import { cachedAttention, checkCacheLength, checkPositions, KvCache } from '../layers/kv-cache.js';
import { runLinear, runLinears } from '../layers/linear.js';
import { rmsNormOf } from '../layers/norm.js';
import { type PackedSegment, packedAttentionInto, segmentPositions } from '../layers/packed-attention.js';
import { Rope } from '../layers/rope.js';
import { Workspace } from '../layers/workspace.js';
import type { BlockOptions, TensorSource } from '../model.js';
import { DecoderModel, type LinearSpec, linearTensors } from './base.js';
import { type ExpectedTensor, WeightStore } from './weights.js';

/** A Llama, Mistral or Qwen2 model. */
export class LlamaModel extends DecoderModel {
  readonly modelType: LlamaConfig['model_type'];
  readonly numBlocks: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly intermediate: number;
  readonly eps: number;
  readonly tied: boolean;
  private readonly rope: Rope;
  /** Scratch of the forward pass (one owner: this model; `block` and `head` are not reentrant). */
  private readonly ws = new Workspace();
  protected readonly weights: WeightStore;
  protected readonly blockLinears: LinearSpec[][];

  constructor(
    source: TensorSource,
    readonly cfg: LlamaConfig,
  ) {
    super(source);
    this.modelType = cfg.model_type;
    this.hiddenSize = cfg.hidden_size;
    const h = this.hiddenSize;
    this.numBlocks = cfg.num_hidden_layers;
    this.vocabSize = cfg.vocab_size;
    this.maxPositions = cfg.max_position_embeddings;
    this.heads = cfg.num_attention_heads;
    this.kvHeads = cfg.num_key_value_heads;
    this.headDim = cfg.head_dim;
    if (this.headDim % 2 !== 0)
      throw new ConfigError(`${source.dir}: head_dim ${this.headDim} must be even for rotary embeddings`, {
        key: 'head_dim',
      });
    this.intermediate = cfg.intermediate_size;
    this.eps = cfg.rms_norm_eps;
    this.tied = cfg.tie_word_embeddings;
    const prf = cfg.raw.partial_rotary_factor;
    if (prf != null && prf !== 1)
      throw new ConfigError(`${source.dir}: partial_rotary_factor ${JSON.stringify(prf)} is not supported`, {
        key: 'partial_rotary_factor',
      });
    this.rope = new Rope(this.headDim, cfg.rope_theta, cfg.rope_scaling);
    const qkvBias = cfg.qkv_bias;
    const oBias = cfg.o_proj_bias;
    const mlpBias = cfg.mlp_bias;
    const qd = this.heads * this.headDim;
    const kvd = this.kvHeads * this.headDim;
    const m = this.intermediate;
    const expected: ExpectedTensor[] = [
      { name: 'model.embed_tokens.weight', shape: [this.vocabSize, h] },
      { name: 'model.norm.weight', shape: [h] },
    ];
    if (!this.tied) expected.push({ name: 'lm_head.weight', shape: [this.vocabSize, h] });
    this.blockLinears = [];
    for (let i = 0; i < this.numBlocks; i++) {
      const p = this.blockPrefix(i);
      // Biases exist when the config announces them (attention_bias / mlp_bias; a STADE-pruned Llama sets them),
      // as in transformers, which ignores stored biases its config does not announce.
      const b = (_name: string, announced: boolean) => announced;
      const specs: LinearSpec[] = [
        { name: `${p}self_attn.q_proj`, out: qd, in: h, bias: b(`${p}self_attn.q_proj`, qkvBias) },
        { name: `${p}self_attn.k_proj`, out: kvd, in: h, bias: b(`${p}self_attn.k_proj`, qkvBias) },
        { name: `${p}self_attn.v_proj`, out: kvd, in: h, bias: b(`${p}self_attn.v_proj`, qkvBias) },
        { name: `${p}self_attn.o_proj`, out: h, in: qd, bias: b(`${p}self_attn.o_proj`, oBias) },
        { name: `${p}mlp.gate_proj`, out: m, in: h, bias: b(`${p}mlp.gate_proj`, mlpBias) },
        { name: `${p}mlp.up_proj`, out: m, in: h, bias: b(`${p}mlp.up_proj`, mlpBias) },
        { name: `${p}mlp.down_proj`, out: h, in: m, bias: b(`${p}mlp.down_proj`, mlpBias) },
      ];
      this.blockLinears.push(specs);
      expected.push(...linearTensors(specs));
      expected.push(
        { name: `${p}input_layernorm.weight`, shape: [h] },
        { name: `${p}post_attention_layernorm.weight`, shape: [h] },
      );
    }
    this.weights = new WeightStore(source, expected);
  }

  protected blockPrefix(i: number): string {
    return `model.layers.${i}.`;
  }

  embed(ids: Int32Array, out?: Tensor): Tensor {
    this.checkIds(ids);
    const x = out ?? Tensor.zeros([ids.length, this.hiddenSize]); // [T, hidden]
    return this.weights.rows('model.embed_tokens.weight', ids, x);
  }

  block(i: number, h: Tensor, opts: BlockOptions = {}): Tensor {
    this.checkBlock(i);
    this.checkHidden(h, `block ${i}`);
    const tap = opts.tap;
    const p = this.blockPrefix(i);
    const T = h.shape[0]!;
    const H = this.hiddenSize;
    const qd = this.heads * this.headDim;
    const kvd = this.kvHeads * this.headDim;
    const ws = this.ws;
    const out = opts.out ?? Tensor.zeros([T, H]); // [T, hidden]: the residual stream from here on
    const x = rmsNormInto(h, this.weights.get(`${p}input_layernorm.weight`), this.eps, ws.get('x', [T, H]));
    const q = runLinear(this.linear(i, 'self_attn.q_proj'), x, tap, ws.get('q', [T, qd])); // [T, heads*head_dim]
    const k = runLinear(this.linear(i, 'self_attn.k_proj'), x, tap, ws.get('k', [T, kvd])); // [T, kv*head_dim]
    const v = runLinear(this.linear(i, 'self_attn.v_proj'), x, tap, ws.get('v', [T, kvd]));
    const spec = {
      heads: this.heads,
      kvHeads: this.kvHeads,
      headDim: this.headDim,
      scale: this.headDim ** -0.5,
      rotary: opts.segments ? this.packedRotary(opts.segments, T) : this.rope.tables(T),
      window: slidingWindowFor(this.cfg, i),
    };
    const a = opts.segments // [T, heads*head_dim]
      ? packedAttentionInto(q, k, v, spec, opts.segments, ws.get('a', [T, qd]), ws)
      : causalAttentionInto(q, k, v, spec, ws.get('a', [T, qd]), ws);
    addInto(h, runLinear(this.linear(i, 'self_attn.o_proj'), a, tap, ws.get('o', [T, H])), out);
    const y = rmsNormInto(out, this.weights.get(`${p}post_attention_layernorm.weight`), this.eps, ws.get('x', [T, H]));
    const m = this.intermediate;
    const g = siluInto(runLinear(this.linear(i, 'mlp.gate_proj'), y, tap, ws.get('g', [T, m])), ws.get('g', [T, m]));
    const u = runLinear(this.linear(i, 'mlp.up_proj'), y, tap, ws.get('u', [T, m])); // [T, intermediate]
    const gu = mulInto(g, u, g);
    return addInto(out, runLinear(this.linear(i, 'mlp.down_proj'), gu, tap, ws.get('o', [T, H])), out);
  }

  /** Embeddings `[T, hidden]` of `ids` at `positions` (a Llama's embeddings do not depend on them). */
  embedPositions(ids: Int32Array, positions: Int32Array, out?: Tensor): Tensor {
    for (const p of positions) checkPositions(1, p, this.maxPositions);
    for (let t = 0; t < ids.length; t += this.maxPositions) this.checkIds(ids.subarray(t, t + this.maxPositions));
    return this.weights.rows('model.embed_tokens.weight', ids, out ?? Tensor.zeros([ids.length, this.hiddenSize]));
  }

  /** Rotary tables `[T, headDim]` of each packed row's own position (scratch of the workspace). */
  private packedRotary(segments: readonly PackedSegment[], T: number): { cos: Tensor; sin: Tensor } {
    let last = 0;
    for (const s of segments) last = Math.max(last, s.prefixLength + s.length - 1);
    const { cos, sin } = this.rope.tables(last + 1);
    const D = this.headDim;
    const c = this.ws.get('rope.cos', [T, D]);
    const s = this.ws.get('rope.sin', [T, D]);
    const cv = cos.values(); // a view: the tables are contiguous rows from position 0
    const sv = sin.values();
    const pos = segmentPositions(segments, T);
    for (let t = 0; t < T; t++) {
      c.data.set(cv.subarray(pos[t]! * D, (pos[t]! + 1) * D), t * D);
      s.data.set(sv.subarray(pos[t]! * D, (pos[t]! + 1) * D), t * D);
    }
    return { cos: c, sin: s };
  }

  head(h: Tensor, out?: Tensor): Tensor {
    this.checkHidden(h, 'head');
    const x = rmsNormInto(
      h,
      this.weights.get('model.norm.weight'),
      this.eps,
      this.ws.get('head.x', [h.shape[0]!, this.hiddenSize]),
    );
    // tie_word_embeddings: transformers ties lm_head to embed_tokens whatever is stored
    const w = this.weights.stored(this.tied ? 'model.embed_tokens.weight' : 'lm_head.weight');
    return linearInto(x, w, null, out); // [T, vocab]
  }

  // --- generation with a KV cache (generate/decoder.ts) ---

  /** A KV cache for up to `maxLen` positions (at most max_position_embeddings). */
  newCache(maxLen: number = this.maxPositions): KvCache {
    checkCacheLength(maxLen, this.maxPositions);
    return new KvCache(this.numBlocks, this.kvHeads, this.headDim, maxLen);
  }

  /** Embeddings `[T, hidden]` of `ids` at positions `start ..` (a Llama's embeddings do not depend on them). */
  embedAt(ids: Int32Array, start: number): Tensor {
    checkPositions(ids.length, start, this.maxPositions);
    return this.embed(ids);
  }

  /** Block i on new tokens `h` (`[T, hidden]`) at positions `cache.length ..`, appending their keys and values. */
  blockCached(i: number, h: Tensor, cache: KvCache): Tensor {
    this.checkBlock(i);
    this.checkHidden(h, `block ${i}`);
    const p = this.blockPrefix(i);
    const T = h.shape[0]!;
    const pos = cache.length;
    const { cos, sin } = this.rope.tables(pos + T);
    let x = rmsNormOf(h, this.weights.get(`${p}input_layernorm.weight`), this.eps);
    const [q, k, v] = runLinears(
      ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'].map((n) => this.linear(i, n)),
      x,
    ) as [Tensor, Tensor, Tensor]; // [T, heads*head_dim], [T, kv*head_dim] twice
    const a = cachedAttention(q, k, v, cache, i, {
      heads: this.heads,
      kvHeads: this.kvHeads,
      headDim: this.headDim,
      scale: this.headDim ** -0.5,
      rotary: { cos: cos.narrow(0, pos, T), sin: sin.narrow(0, pos, T) },
      window: slidingWindowFor(this.cfg, i),
    });
    h = add(h, runLinear(this.linear(i, 'self_attn.o_proj'), a));
    x = rmsNormOf(h, this.weights.get(`${p}post_attention_layernorm.weight`), this.eps);
    const [g, u] = runLinears([this.linear(i, 'mlp.gate_proj'), this.linear(i, 'mlp.up_proj')], x) as [Tensor, Tensor];
    return add(h, runLinear(this.linear(i, 'mlp.down_proj'), mul(silu(g), u))); // g, u: [T, intermediate]
  }
}
