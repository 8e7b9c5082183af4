import { linearGroup, linearInto, type Tensor } from '@stade/tensor';
import type { StoredLinear, Tap } from '../model.js';

/**
 * Runs a linear layer on `x` (`[T, in]` -> `[T, out]`), first showing `x` to the tap under the layer's name;
 * writes into `out` when given (contiguous `[T, out]`, not sharing storage with x).
 */
export function runLinear(layer: StoredLinear, x: Tensor /* [T, in] */, tap?: Tap, out?: Tensor): Tensor {
  tap?.(layer.name, x);
  return linearInto(x, layer.weight, layer.bias ?? undefined, out);
}

/**
 * Runs layers that share their input (q/k/v; gate and up) on `x`: at decode sizes one pool split covers all of
 * them (`linearGroup`); the results are those of `runLinear` on each.
 */
export function runLinears(layers: readonly StoredLinear[], x: Tensor /* [T, in] */): Tensor[] {
  return linearGroup(
    x,
    layers.map((l) => l.weight),
    layers.map((l) => l.bias),
  );
}
