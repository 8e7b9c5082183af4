import { Arena, copyInto, persistent, Tensor } from '@stade/tensor';
import type { PrunableModel } from './model.js';

/**
 * Who owns the pruning driver's memory (issue 9: bounded by design, not by the garbage collector). Three arenas of
 * @stade/tensor, each reset at the end of the lifetime of what it lends:
 * - `run`: the windows' hidden states, two sets of `[T, hidden]` per window (the block's inputs, updated in place
 *   by the rerun with pruned weights, and the dense outputs the rerun is measured against); disposed at the end.
 * - `block`: everything that lives for one block: float32 copies of its weights (`getLinear`), its statistics and
 *   Hessians, the pruned weights until the sink took them; reset after the block was handed off and dropped.
 * - `layer`: what lives for one layer's pruning (scores, SparseGPT's working copies and factors); reset after the
 *   layer's result was copied into the block arena.
 * Every block of a model has the same shapes, so from the second block on every request is served from the
 * arenas' free lists: pruning 16 blocks allocates what pruning 4 does. Pruned weights that stay in the model
 * (no sink, or a model without `dropBlock`) are copied to `persistent` memory, never kept in an arena.
 */
export class DriverMemory {
  readonly run = new Arena();
  readonly block = new Arena();
  readonly layer = new Arena();

  constructor(readonly keepInModel: boolean) {}

  /** Embeds every window into run-owned hidden states, plus a second set of the same shapes. */
  hidden(model: PrunableModel, windows: readonly Int32Array[]): { hs: Tensor[]; alt: Tensor[] } {
    return this.run.use(() => {
      const hs = windows.map((ids) => model.embed(ids)); // each [T, hidden]
      return { hs, alt: hs.map((h) => Tensor.zeros(h.shape)) };
    });
  }

  /** Runs `fn` in the block arena, then resets it (the block's memory is free for the next one). */
  eachBlock<T>(fn: () => T): T {
    try {
      return this.block.use(fn);
    } finally {
      this.block.reset();
    }
  }

  /**
   * Runs `fn` (one layer's pruning) in the layer arena and keeps `pick`'s tensors: copies owned by the block arena,
   * or persistent ones when the pruned weights stay in the model. Tensors `fn` did not create are kept as they are
   * unless they must become persistent.
   */
  eachLayer<R>(fn: () => R, keep: (r: R, copy: (t: Tensor) => Tensor) => R): R {
    try {
      const r = this.layer.use(fn);
      const copy = (t: Tensor) => (this.keepInModel ? persistent(() => t.clone()) : t.clone());
      return keep(r, copy);
    } finally {
      this.layer.reset();
    }
  }

  /** Frees everything (the buffers go to the recycler for the next run). */
  dispose(): void {
    this.layer.dispose();
    this.block.dispose();
    this.run.dispose();
  }
}

/** `r` copied into `target` unless the model already wrote it there (models that ignore `out` return their own). */
export function into(r: Tensor, target: Tensor): Tensor {
  if (r !== target) copyInto(r, target.data, target.offset);
  return target;
}
