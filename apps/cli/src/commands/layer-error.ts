import { ErrorMeter } from '@stade/prune';
import { linear, type Tensor } from '@stade/tensor';
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
  const meters = new Map<string, ErrorMeter>();
  const tap = (name: string, x: Tensor /* [tokens, in] */) => {
    const d = dense.get(name);
    if (!d) return;
    const p = model.getLinear(name);
    const yd = linear(x, d.weight, d.bias ?? undefined); // [tokens, out]
    const yp = linear(x, p.weight, p.bias ?? undefined);
    let m = meters.get(name);
    if (!m) {
      m = new ErrorMeter();
      meters.set(name, m);
    }
    m.addTensors(yd, yp);
  };
  for (const ids of windows.slice(0, maxWindows)) {
    let h = model.embed(ids);
    for (let i = 0; i < model.numBlocks; i++) h = model.block(i, h, { tap });
  }
  const out = new Map<string, { mse: number; cosine: number }>();
  for (const [name, m] of meters) out.set(name, { mse: m.mse(), cosine: m.cosine() });
  return out;
}
