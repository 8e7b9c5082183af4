import { linear, type Tensor } from '@stade/tensor';
import type { LinearLayer, Tap } from '../model.js';

/** Runs a linear layer on `x` (`[T, in]` -> `[T, out]`), first showing `x` to the tap under the layer's name. */
export function runLinear(layer: LinearLayer, x: Tensor /* [T, in] */, tap?: Tap): Tensor {
  tap?.(layer.name, x);
  return linear(x, layer.weight, layer.bias ?? undefined);
}
