import { LayerErrorTap } from '@stade/prune';
import type { Tensor } from '@stade/tensor';
import type { CausalLM } from '@stade/transformer';

/** Dense weights of every prunable linear, by name. */
export type DenseLinears = Map<string, { weight: Tensor; bias: Tensor | null }>;

/**
 * Each pruned linear layer's own output error: runs the pruned model over the first `maxWindows` windows and,
 * for every linear layer, compares the dense and the pruned weights on the same input (MSE and cosine).
 */
export function layerErrors(
  model: CausalLM,
  dense: DenseLinears,
  windows: readonly Int32Array[],
  maxWindows = 2,
): Map<string, { mse: number; cosine: number }> {
  const meter = new LayerErrorTap(model, dense);
  try {
    for (const ids of windows.slice(0, maxWindows)) {
      let h = model.embed(ids);
      for (let i = 0; i < model.numBlocks; i++) h = model.block(i, h, { tap: meter.tap });
    }
  } finally {
    meter.dispose(); // its scratch goes to the recycler, not to the garbage collector
  }
  return meter.results();
}
