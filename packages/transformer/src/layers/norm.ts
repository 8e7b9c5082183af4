import { layerNorm, rmsNorm, type Tensor } from '@stade/tensor';

/** torch.nn.LayerNorm over the last axis; `weight`/`bias` null when `elementwise_affine` is false. */
export function layerNormOf(x: Tensor /* [T, h] */, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  return layerNorm(x, weight, bias, eps);
}

/** LlamaRMSNorm: `x * rsqrt(mean(x^2) + eps) * w`, computed in float32. */
export function rmsNormOf(x: Tensor /* [T, h] */, weight: Tensor, eps: number): Tensor {
  return rmsNorm(x, weight, eps);
}
