import { fmtShape, type Tensor } from '@stade/tensor';
import { StadeError } from '../errors.js';
import type { BlockOptions, CausalLM, LinearLayer, StoredLinear, TensorSource } from '../model.js';
import type { ExpectedTensor, LinearForm, WeightStore } from './weights.js';

/** What an architecture knows about one of its linear layers. */
export interface LinearSpec {
  name: string; // HF name without .weight
  out: number;
  in: number;
  bias: boolean; // stored in the checkpoint
}

/** The expected tensors of a list of linear layers (weights, and biases where stored). */
export function linearTensors(specs: readonly LinearSpec[]): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  for (const s of specs) {
    out.push({ name: `${s.name}.weight`, shape: [s.out, s.in] });
    if (s.bias) out.push({ name: `${s.name}.bias`, shape: [s.out] });
  }
  return out;
}

/**
 * The parts every decoder-only architecture shares: forward, linear-layer access by name, releasing a block,
 * listing tensors, and checking inputs. Subclasses wire embed / block / head.
 */
export abstract class DecoderModel implements CausalLM {
  abstract readonly modelType: string;
  abstract readonly numBlocks: number;
  abstract readonly hiddenSize: number;
  abstract readonly vocabSize: number;
  abstract readonly maxPositions: number;
  readonly config: Record<string, unknown>;
  protected abstract readonly weights: WeightStore;
  /** Prunable linear layers per block, in the order they run. */
  protected abstract readonly blockLinears: readonly (readonly LinearSpec[])[];
  private byName: Map<string, LinearSpec> | null = null;

  constructor(readonly source: TensorSource) {
    this.config = source.config;
  }

  abstract embed(ids: Int32Array, out?: Tensor): Tensor;
  abstract block(i: number, h: Tensor, opts?: BlockOptions): Tensor;
  abstract head(h: Tensor, out?: Tensor): Tensor;

  forward(ids: Int32Array): Tensor {
    const h = this.embed(ids); // [T, hidden], updated in place block after block
    for (let i = 0; i < this.numBlocks; i++) this.block(i, h, { out: h });
    return this.head(h);
  }

  linearNames(i: number): string[] {
    this.checkBlock(i);
    return this.blockLinears[i]!.map((s) => s.name);
  }

  private spec(name: string): LinearSpec {
    if (!this.byName) this.byName = new Map(this.blockLinears.flat().map((s) => [s.name, s]));
    const s = this.byName.get(name);
    if (!s)
      throw new StadeError(
        `${this.source.dir}: ${name} is not a prunable linear layer of this ${this.modelType} model`,
        { key: name },
      );
    return s;
  }

  getLinear(name: string): LinearLayer {
    const s = this.spec(name);
    const b = `${name}.bias`;
    return {
      name,
      weight: this.weights.get(`${name}.weight`),
      bias: s.bias || this.weights.isSet(b) ? this.weights.get(b) : null,
    };
  }

  linearInfo(name: string): { out: number; in: number; bias: boolean } {
    const s = this.spec(name);
    return { out: s.out, in: s.in, bias: s.bias || this.weights.isSet(`${name}.bias`) };
  }

  /**
   * Chooses, at load time, the form of every linear weight the forward pass uses (`null`: the stored form).
   * Takes effect for weights read from now on; call `releaseBlock` on loaded blocks to apply it to them.
   */
  setLinearForm(form: LinearForm | null): void {
    this.weights.linearForm = form;
  }

  /** Bytes of weights the model holds now (cached reads, float32 copies, replacements, reusable buffers). */
  residentBytes(): number {
    return this.weights.residentBytes();
  }

  setLinear(name: string, weight: Tensor, bias: Tensor | null): void {
    const s = this.spec(name);
    if (weight.shape.length !== 2 || weight.shape[0] !== s.out || weight.shape[1] !== s.in) {
      throw new StadeError(
        `setLinear ${name}: weight shape ${fmtShape(weight.shape)}, expected ${fmtShape([s.out, s.in])}`,
        { key: name },
      );
    }
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== s.out)) {
      throw new StadeError(`setLinear ${name}: bias shape ${fmtShape(bias.shape)}, expected ${fmtShape([s.out])}`, {
        key: name,
      });
    }
    if (!bias && (s.bias || this.weights.isSet(`${name}.bias`))) {
      throw new StadeError(`setLinear ${name}: the layer has a bias; pass one (zeros to remove its effect)`, {
        key: name,
      });
    }
    this.weights.set(`${name}.weight`, weight);
    if (bias) this.weights.set(`${name}.bias`, bias);
  }

  /** True when `setLinear` replaced the layer's weight or bias. */
  isLinearSet(name: string): boolean {
    this.spec(name);
    return this.weights.isSet(`${name}.weight`) || this.weights.isSet(`${name}.bias`);
  }

  /** Undoes `setLinear`: the layer reads its checkpoint weight (and bias, or none) again. */
  resetLinear(name: string): void {
    this.spec(name);
    this.weights.unset(`${name}.weight`);
    this.weights.unset(`${name}.bias`);
  }

  releaseBlock(i: number): void {
    this.checkBlock(i);
    this.weights.release(this.blockPrefix(i));
  }

  dropBlock(i: number): void {
    this.checkBlock(i);
    this.weights.drop(this.blockPrefix(i));
  }

  tensors(): Iterable<{ name: string; tensor: Tensor }> {
    return this.weights.all();
  }

  tensorKeys(): { name: string; key: string }[] {
    return this.weights.keysInSourceOrder();
  }

  /** Name prefix of block i's tensors, ending with a dot. */
  protected abstract blockPrefix(i: number): string;

  /**
   * The linear layer of block i called `suffix` (e.g. `self_attn.q_proj`) in the form the forward pass uses: the
   * weight as stored (16-bit for F16/BF16 checkpoints, unless `setLinearForm` chose otherwise) or its replacement.
   */
  protected linear(i: number, suffix: string): StoredLinear {
    const name = this.blockPrefix(i) + suffix;
    const s = this.spec(name);
    const b = `${name}.bias`;
    return {
      name,
      weight: this.weights.stored(`${name}.weight`, true),
      bias: s.bias || this.weights.isSet(b) ? this.weights.get(b) : null,
    };
  }

  protected checkBlock(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.numBlocks) {
      throw new StadeError(`block index ${i} out of range: the model has ${this.numBlocks} blocks`);
    }
  }

  /** Checks token ids: 1..maxPositions of them, each in [0, vocab). */
  protected checkIds(ids: Int32Array): void {
    if (ids.length === 0) throw new StadeError('embed: no token ids');
    if (ids.length > this.maxPositions) {
      throw new StadeError(`embed: ${ids.length} tokens exceed max_position_embeddings ${this.maxPositions}`, {
        key: 'max_position_embeddings',
      });
    }
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      if (id < 0 || id >= this.vocabSize)
        throw new StadeError(`embed: token id ${id} at position ${t} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }

  /** Checks a hidden-state input `[T, hidden]`. */
  protected checkHidden(h: Tensor, what: string): void {
    if (h.shape.length !== 2 || h.shape[1] !== this.hiddenSize) {
      throw new StadeError(
        `${what}: hidden states of shape ${fmtShape(h.shape)}, expected [tokens, ${this.hiddenSize}]`,
      );
    }
  }
}
