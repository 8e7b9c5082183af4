// OPT, mirroring transformers' src/transformers/models/opt/modeling_opt.py
// (https://github.com/huggingface/transformers/blob/main/src/transformers/models/opt/modeling_opt.py):
// learned positions with offset 2, pre-LN or post-LN blocks (`do_layer_norm_before`), q * head_dim^-0.5,
// relu FFN, optional project_in/project_out (word_embed_proj_dim != hidden_size), lm_head tied when absent.
import {
  add,
  addInto,
  geluInto,
  layerNorm,
  layerNormInto,
  linear,
  linearInto,
  reluInto,
  siluInto,
  Tensor,
} from '@stade/tensor';
import type { OptActivation, OptConfig } from '../config.js';
import { causalAttentionInto } from '../layers/attention.js';
import { cachedAttention, checkCacheLength, checkPositions, KvCache } from '../layers/kv-cache.js';
import { runLinear, runLinears } from '../layers/linear.js';
import { packedAttentionInto } from '../layers/packed-attention.js';
import { Workspace } from '../layers/workspace.js';
import type { BlockOptions, TensorSource } from '../model.js';
import { DecoderModel, type LinearSpec, linearTensors } from './base.js';
import { type ExpectedTensor, WeightStore } from './weights.js';

const POSITION_OFFSET = 2; // OPTLearnedPositionalEmbedding
const LN_EPS = 1e-5;

/** The activation, applied in place (`x` is a scratch buffer of the block). */
function activation(name: OptActivation): (x: Tensor) => Tensor {
  if (name === 'relu') return (x) => reluInto(x, x);
  if (name === 'gelu') return (x) => geluInto(x, 'erf', x);
  if (name === 'silu' || name === 'swish') return (x) => siluInto(x, x);
  return (x) => geluInto(x, 'tanh', x); // gelu_new, gelu_pytorch_tanh
}

/** An OPT model (opt-125m ... opt-66b, incl. the post-LN opt-350m). */
export class OptModel extends DecoderModel {
  readonly modelType = 'opt';
  readonly numBlocks: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly heads: number;
  readonly ffnDim: number;
  readonly projDim: number;
  readonly preLN: boolean;
  readonly affine: boolean;
  /** model.decoder.final_layer_norm exists: pre-LN models (unless `_remove_final_layer_norm`). */
  readonly finalLN: boolean;
  private readonly act: (x: Tensor) => Tensor;
  private readonly lmHead: string;
  /** Scratch of the forward pass (one owner: this model; `block` and `head` are not reentrant). */
  private readonly ws = new Workspace();
  protected readonly weights: WeightStore;
  protected readonly blockLinears: LinearSpec[][];

  constructor(
    source: TensorSource,
    readonly cfg: OptConfig,
  ) {
    super(source);
    this.hiddenSize = cfg.hidden_size;
    this.numBlocks = cfg.num_hidden_layers;
    this.vocabSize = cfg.vocab_size;
    this.maxPositions = cfg.max_position_embeddings;
    this.heads = cfg.num_attention_heads;
    this.ffnDim = cfg.ffn_dim;
    this.projDim = cfg.word_embed_proj_dim;
    this.preLN = cfg.do_layer_norm_before;
    this.affine = cfg.layer_norm_elementwise_affine;
    const bias = cfg.enable_bias;
    this.act = activation(cfg.activation_function);

    const h = this.hiddenSize;
    this.blockLinears = [];
    const expected: ExpectedTensor[] = [
      { name: 'model.decoder.embed_tokens.weight', shape: [this.vocabSize, this.projDim] },
      { name: 'model.decoder.embed_positions.weight', shape: [this.maxPositions + POSITION_OFFSET, h] },
    ];
    if (this.projDim !== h) {
      expected.push({ name: 'model.decoder.project_in.weight', shape: [h, this.projDim] });
      expected.push({ name: 'model.decoder.project_out.weight', shape: [this.projDim, h] });
    }
    const ln = (name: string) => {
      if (this.affine) expected.push({ name: `${name}.weight`, shape: [h] }, { name: `${name}.bias`, shape: [h] });
    };
    this.finalLN = this.preLN && !cfg._remove_final_layer_norm;
    if (this.finalLN) ln('model.decoder.final_layer_norm');
    for (let i = 0; i < this.numBlocks; i++) {
      const p = this.blockPrefix(i);
      const specs: LinearSpec[] = [
        { name: `${p}self_attn.q_proj`, out: h, in: h, bias },
        { name: `${p}self_attn.k_proj`, out: h, in: h, bias },
        { name: `${p}self_attn.v_proj`, out: h, in: h, bias },
        { name: `${p}self_attn.out_proj`, out: h, in: h, bias },
        { name: `${p}fc1`, out: this.ffnDim, in: h, bias },
        { name: `${p}fc2`, out: h, in: this.ffnDim, bias },
      ];
      this.blockLinears.push(specs);
      expected.push(...linearTensors(specs));
      ln(`${p}self_attn_layer_norm`);
      ln(`${p}final_layer_norm`);
    }
    // transformers ties lm_head to embed_tokens (tie_word_embeddings defaults to true for OPT)
    this.lmHead =
      source.has('lm_head.weight') && !cfg.tie_word_embeddings ? 'lm_head.weight' : 'model.decoder.embed_tokens.weight';
    if (this.lmHead === 'lm_head.weight')
      expected.push({ name: 'lm_head.weight', shape: [this.vocabSize, this.projDim] });
    this.weights = new WeightStore(source, expected);
  }

  protected blockPrefix(i: number): string {
    return `model.decoder.layers.${i}.`;
  }

  /** LayerNorm `name` of `x`, into `out` when given (may be x itself). */
  private norm(name: string, x: Tensor, out?: Tensor): Tensor {
    const w = this.affine ? this.weights.get(`${name}.weight`) : null;
    const b = this.affine ? this.weights.get(`${name}.bias`) : null;
    return out ? layerNormInto(x, w, b, LN_EPS, out) : layerNorm(x, w, b, LN_EPS);
  }

  embed(ids: Int32Array, out?: Tensor): Tensor {
    return this.embedPositions(ids, null, out);
  }

  /** Token and learned position embeddings `[T, hidden]` of `ids` at `positions` (null: 0 .. T-1). */
  embedPositions(ids: Int32Array, positions: Int32Array | null, out?: Tensor): Tensor {
    if (!positions) this.checkIds(ids);
    else for (let t = 0; t < ids.length; t += this.maxPositions) this.checkIds(ids.subarray(t, t + this.maxPositions));
    const T = ids.length;
    const h = this.hiddenSize;
    const x = out ?? Tensor.zeros([T, h]); // [T, hidden]
    const table = 'model.decoder.embed_tokens.weight';
    if (this.projDim !== h) {
      const e = this.weights.rows(table, ids, this.ws.get('embed.tokens', [T, this.projDim])); // [T, proj]
      linearInto(e, this.weights.get('model.decoder.project_in.weight'), null, x);
    } else this.weights.rows(table, ids, x);
    const pos = new Int32Array(T);
    let last = 0;
    for (let t = 0; t < T; t++) {
      const p = positions ? positions[t]! : t;
      if (positions) last = Math.max(last, p);
      pos[t] = p + POSITION_OFFSET;
    }
    if (positions) checkPositions(1, last, this.maxPositions);
    const pe = this.ws.get('embed.positions', [T, h]);
    this.weights.rows('model.decoder.embed_positions.weight', pos, pe);
    return addInto(x, pe, x);
  }

  block(i: number, h: Tensor, opts: BlockOptions = {}): Tensor {
    this.checkBlock(i);
    this.checkHidden(h, `block ${i}`);
    const tap = opts.tap;
    const p = this.blockPrefix(i);
    const T = h.shape[0]!;
    const H = this.hiddenSize;
    const d = H / this.heads;
    const ws = this.ws;
    const out = opts.out ?? Tensor.zeros([T, H]); // [T, hidden]: the residual stream from here on
    // self-attention
    const x = this.preLN ? this.norm(`${p}self_attn_layer_norm`, h, ws.get('x', [T, H])) : h; // [T, hidden]
    const q = runLinear(this.linear(i, 'self_attn.q_proj'), x, tap, ws.get('q', [T, H]));
    const k = runLinear(this.linear(i, 'self_attn.k_proj'), x, tap, ws.get('k', [T, H]));
    const v = runLinear(this.linear(i, 'self_attn.v_proj'), x, tap, ws.get('v', [T, H]));
    const spec = { heads: this.heads, kvHeads: this.heads, headDim: d, scale: d ** -0.5 };
    const a = opts.segments // [T, hidden]
      ? packedAttentionInto(q, k, v, spec, opts.segments, ws.get('a', [T, H]), ws)
      : causalAttentionInto(q, k, v, spec, ws.get('a', [T, H]), ws);
    addInto(h, runLinear(this.linear(i, 'self_attn.out_proj'), a, tap, ws.get('o', [T, H])), out);
    if (!this.preLN) this.norm(`${p}self_attn_layer_norm`, out, out);
    // feed-forward
    const y = this.preLN ? this.norm(`${p}final_layer_norm`, out, ws.get('x', [T, H])) : out;
    const f = this.act(runLinear(this.linear(i, 'fc1'), y, tap, ws.get('f', [T, this.ffnDim]))); // [T, ffn]
    addInto(out, runLinear(this.linear(i, 'fc2'), f, tap, ws.get('o', [T, H])), out);
    if (!this.preLN) this.norm(`${p}final_layer_norm`, out, out);
    return out;
  }

  head(h: Tensor, out?: Tensor): Tensor {
    this.checkHidden(h, 'head');
    const T = h.shape[0]!;
    let x = this.finalLN
      ? this.norm('model.decoder.final_layer_norm', h, this.ws.get('head.x', [T, this.hiddenSize]))
      : h;
    if (this.projDim !== this.hiddenSize)
      x = linearInto(
        x,
        this.weights.get('model.decoder.project_out.weight'),
        null,
        this.ws.get('head.proj', [T, this.projDim]),
      ); // [T, proj]
    return linearInto(x, this.weights.stored(this.lmHead), null, out); // [T, vocab]
  }

  // --- generation with a KV cache (generate/decoder.ts) ---

  /** A KV cache for up to `maxLen` positions (at most max_position_embeddings). */
  newCache(maxLen: number = this.maxPositions): KvCache {
    checkCacheLength(maxLen, this.maxPositions);
    return new KvCache(this.numBlocks, this.heads, this.hiddenSize / this.heads, maxLen);
  }

  /** Token and learned position embeddings `[T, hidden]` of `ids` at positions `start ..`. */
  embedAt(ids: Int32Array, start: number): Tensor {
    checkPositions(ids.length, start, this.maxPositions);
    this.checkIds(ids);
    let x = this.weights.rows('model.decoder.embed_tokens.weight', ids); // [T, proj]
    if (this.projDim !== this.hiddenSize) x = linear(x, this.weights.get('model.decoder.project_in.weight')); // [T, hidden]
    const pos = new Int32Array(ids.length);
    for (let t = 0; t < ids.length; t++) pos[t] = start + t + POSITION_OFFSET;
    return add(x, this.weights.rows('model.decoder.embed_positions.weight', pos)); // [T, hidden]
  }

  /** Block i on new tokens `h` (`[T, hidden]`) at positions `cache.length ..`, appending their keys and values. */
  blockCached(i: number, h: Tensor, cache: KvCache): Tensor {
    this.checkBlock(i);
    this.checkHidden(h, `block ${i}`);
    const p = this.blockPrefix(i);
    const d = this.hiddenSize / this.heads;
    let x = this.preLN ? this.norm(`${p}self_attn_layer_norm`, h) : h; // [T, hidden]
    const [q, k, v] = runLinears(
      ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'].map((n) => this.linear(i, n)),
      x,
    ) as [Tensor, Tensor, Tensor]; // each [T, hidden]
    const spec = { heads: this.heads, kvHeads: this.heads, headDim: d, scale: d ** -0.5 };
    h = add(h, runLinear(this.linear(i, 'self_attn.out_proj'), cachedAttention(q, k, v, cache, i, spec)));
    if (!this.preLN) h = this.norm(`${p}self_attn_layer_norm`, h);
    x = this.preLN ? this.norm(`${p}final_layer_norm`, h) : h;
    h = add(h, runLinear(this.linear(i, 'fc2'), this.act(runLinear(this.linear(i, 'fc1'), x)))); // fc1: [T, ffn]
    return this.preLN ? h : this.norm(`${p}final_layer_norm`, h);
  }
}
