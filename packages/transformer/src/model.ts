import { type HalfTensor, type LinearWeight, Tensor } from '@stade/tensor';
import type { PackedSegment } from './layers/packed-attention.js';

/** Receives the input `x` (`[tokens, in]`) of a linear layer under its Hugging Face name, before it is applied. Do not modify `x`. */
export type Tap = (name: string, x: Tensor /* [tokens, in] */) => void;

/** A linear layer: `y = x W^T + b`. */
export interface LinearLayer {
  /** Hugging Face name without `.weight`, e.g. `model.layers.3.mlp.down_proj`. */
  name: string;
  weight: Tensor; // [out, in]
  bias: Tensor | null; // [out]
}

/** A linear layer in the form the forward pass uses: the weight as stored (16-bit for F16/BF16 checkpoints). */
export interface StoredLinear {
  name: string;
  weight: LinearWeight; // [out, in]
  bias: Tensor | null; // [out]
}

/** Options of `CausalLM.block`. */
export interface BlockOptions {
  tap?: Tap;
  /**
   * Where to write the block's output (contiguous `[T, hidden]`); it may be `h` itself, an in-place residual
   * stream. Default: a fresh tensor.
   */
  out?: Tensor;
  /**
   * Packed sequences (varlen batching): the rows of `h` are several sequences' pieces, each attending to its shared
   * prefix and causally to itself (see `packedAttentionInto`); positions come from the segments. Default: one
   * causal sequence. Only models that are `PackedDecoder`s accept it.
   */
  segments?: readonly PackedSegment[];
}

/**
 * A decoder-only language model run block by block. Weights are addressed by their checkpoint names and loaded
 * lazily: running block i reads that block's tensors (and caches them until `releaseBlock(i)`).
 */
export interface CausalLM {
  modelType: string;
  /** The raw config.json object. */
  config: Record<string, unknown>;
  numBlocks: number;
  hiddenSize: number;
  vocabSize: number;
  /** Longest sequence the model accepts (`max_position_embeddings`). */
  maxPositions: number;
  /** Token (and, for OPT, position) embeddings: ids -> `[T, hidden]` (written into `out` when given). */
  embed(ids: Int32Array, out?: Tensor): Tensor;
  /** Decoder block i: `[T, hidden]` -> `[T, hidden]`; `tap` sees the input of each of its linear layers. */
  block(i: number, h: Tensor, opts?: BlockOptions): Tensor;
  /** Final norm (and projection) and the language-model head: `[T, hidden]` -> `[T, vocab]` logits (into `out` when given). */
  head(h: Tensor, out?: Tensor): Tensor;
  /** `head(block(n-1, ... block(0, embed(ids))))`: `[T, vocab]` logits. */
  forward(ids: Int32Array): Tensor;
  /** Hugging Face names of block i's prunable linear layers, in the order they run. */
  linearNames(i: number): string[];
  /**
   * A prunable linear layer in float32 (a replacement, or the checkpoint's weight converted on demand and cached
   * until `releaseBlock` of its block: do not keep it past that).
   */
  getLinear(name: string): LinearLayer;
  /** Shape of a prunable linear layer and whether it has a bias now (nothing is read). */
  linearInfo(name: string): { out: number; in: number; bias: boolean };
  /** Replaces a prunable linear layer's weight and bias (e.g. after pruning); kept until the model is dropped. */
  setLinear(name: string, weight: Tensor, bias: Tensor | null): void;
  /** Drops the cached checkpoint weights of block i (replacements from `setLinear` are kept). */
  releaseBlock(i: number): void;
  /**
   * Hands block i off for good: drops its cached weights and its replacements. A streaming pipeline calls this
   * once the block's pruned layers are written elsewhere; running or reading the block afterwards throws.
   */
  dropBlock(i: number): void;
  /** Every tensor as it is now (replacements included), under checkpoint names, for saving. */
  tensors(): Iterable<{ name: string; tensor: Tensor }>;
  /** Every tensor the source stores, in its order: the canonical (Hugging Face) name and the source's own key. */
  tensorKeys(): { name: string; key: string }[];
}

/** Shape information of a stored tensor. */
export interface TensorShapeInfo {
  shape: readonly number[];
}

/** A tensor in its stored form: 16-bit for F16/BF16, else float32. */
export type StoredTensor = Tensor | HalfTensor;

/**
 * Where a model's weights come from: a `Checkpoint` (io/checkpoint.ts) or an in-memory map (`MemorySource`).
 * `get` returns a float32 tensor; `getStored` (optional) the stored form, reading into `reuse` (a buffer of
 * exactly the tensor's element count and the stored form's array type) when one is given.
 */
export interface TensorSource {
  /** Where the weights live, for error messages (the model folder or a label). */
  readonly dir: string;
  readonly config: Record<string, unknown>;
  names(): Iterable<string>;
  has(name: string): boolean;
  info(name: string): TensorShapeInfo;
  get(name: string): Tensor;
  getStored?(name: string, reuse?: Float32Array | Uint16Array): StoredTensor;
  /** True when every read returns memory the caller owns (a fresh buffer or `reuse`), so it may be recycled. */
  readonly freshReads?: boolean;
}

/** A TensorSource over tensors held in memory (tests, benchmarks, models built in code); 16-bit ones stay so. */
export class MemorySource implements TensorSource {
  readonly dir: string;
  readonly config: Record<string, unknown>;
  private readonly map: Map<string, StoredTensor>;

  constructor(config: Record<string, unknown>, tensors: Iterable<[string, StoredTensor]>, dir = '<memory>') {
    this.config = config;
    this.map = new Map(tensors);
    this.dir = dir;
  }

  names(): Iterable<string> {
    return this.map.keys();
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  info(name: string): TensorShapeInfo {
    const t = this.map.get(name);
    if (!t) throw new Error(`${this.dir}: no tensor ${name}`);
    return { shape: t.shape };
  }

  get(name: string): Tensor {
    const t = this.getStored(name);
    return t instanceof Tensor ? t : t.toFloat32();
  }

  getStored(name: string): StoredTensor {
    const t = this.map.get(name);
    if (!t) throw new Error(`${this.dir}: no tensor ${name}`);
    return t;
  }
}

/** A model that runs packed sequences: `block(i, h, { segments })` and embeddings at given positions. */
export interface PackedDecoder extends CausalLM {
  /** Embeddings `[T, hidden]` of `ids` at `positions` (one per id), into `out` when given. */
  embedPositions(ids: Int32Array, positions: Int32Array, out?: Tensor): Tensor;
}

/** True when `model` accepts packed sequences (OptModel and LlamaModel). */
export function isPackedDecoder(model: CausalLM): model is PackedDecoder {
  return typeof (model as Partial<PackedDecoder>).embedPositions === 'function';
}
