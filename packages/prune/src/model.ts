import { Tensor } from '@stade/tensor';
import type { Tap } from './stats.js';

/** A linear layer as @stade/transformer exposes it. */
export interface LinearLayer {
  name: string;
  weight: Tensor; // [out, in]
  bias: Tensor | null; // [out]
}

/**
 * The part of @stade/transformer's CausalLM the pruning driver uses (any CausalLM satisfies it). Kept structural so
 * the driver can also run on small models built in tests.
 */
export interface PrunableModel {
  numBlocks: number;
  embed(ids: Int32Array): Tensor; // [T, hidden]
  /**
   * [T, hidden] -> [T, hidden]. The driver passes `out` (contiguous [T, hidden], possibly `h` itself) and copies
   * the result there when a model returns a tensor of its own instead.
   */
  block(i: number, h: Tensor, opts?: { tap?: Tap; out?: Tensor }): Tensor;
  linearNames(i: number): string[];
  getLinear(name: string): LinearLayer;
  setLinear(name: string, weight: Tensor, bias: Tensor | null): void;
  /** Shape of a linear layer without reading it (when the model can tell). */
  linearInfo?(name: string): { out: number; in: number };
  /** True when `setLinear` replaced the layer (models that can tell). */
  isLinearSet?(name: string): boolean;
  /** Undoes `setLinear`: the layer reads its stored weights again (models that can). */
  resetLinear?(name: string): void;
  /** Forgets block i's cached weights (replacements stay). */
  releaseBlock?(i: number): void;
  /** Forgets block i entirely, replacements included (after a `BlockSink` took its pruned layers). */
  dropBlock?(i: number): void;
}

/**
 * A pruned block's linear layers, handed to a `BlockSink` (float32; valid during the call only: their memory is
 * the driver's block arena, reused for the next block).
 */
export interface FinishedBlock {
  index: number;
  layers: readonly LinearLayer[];
}

/**
 * Receives each block as soon as it is pruned (e.g. to write it out). After the call the driver drops the block
 * from the model (`dropBlock`), so the pipeline holds one block of weights at a time.
 */
export type BlockSink = (block: FinishedBlock) => void;

/** The current weight and bias of every prunable linear (references; pruning never mutates them in place). */
export function snapshotLinears(model: PrunableModel): Map<string, { weight: Tensor; bias: Tensor | null }> {
  const snap = new Map<string, { weight: Tensor; bias: Tensor | null }>();
  for (let i = 0; i < model.numBlocks; i++) {
    for (const name of model.linearNames(i)) {
      const l = model.getLinear(name);
      snap.set(name, { weight: l.weight, bias: l.bias });
    }
  }
  return snap;
}

/** Puts back the weights saved by `snapshotLinears` (e.g. between the sparsities of a sweep). */
export function restoreLinears(model: PrunableModel, snap: Map<string, { weight: Tensor; bias: Tensor | null }>): void {
  for (const [name, l] of snap) {
    // A layer that gained a bias (STADE) keeps one: a zero bias restores the dense behaviour.
    const bias = l.bias ?? (model.getLinear(name).bias ? Tensor.zeros([l.weight.shape[0]!]) : null);
    model.setLinear(name, l.weight, bias);
  }
}
