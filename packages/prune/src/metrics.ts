import { Arena, linear, type Tensor } from '@stade/tensor';

/** Accumulates the mean squared error and cosine similarity between dense and pruned outputs (float64). */
export class ErrorMeter {
  private n = 0;
  private se = 0;
  private dd = 0;
  private pp = 0;
  private dp = 0;

  add(dense: ArrayLike<number>, pruned: ArrayLike<number>): void {
    const len = dense.length;
    for (let k = 0; k < len; k++) {
      const a = dense[k]!;
      const b = pruned[k]!;
      const d = a - b;
      this.se += d * d;
      this.dd += a * a;
      this.pp += b * b;
      this.dp += a * b;
    }
    this.n += len;
  }

  addTensors(dense: Tensor, pruned: Tensor): void {
    this.add(dense.values(), pruned.values());
  }

  get count(): number {
    return this.n;
  }

  mse(): number {
    return this.n ? this.se / this.n : 0;
  }

  /** Cosine similarity of the flattened outputs (1 when both are zero). */
  cosine(): number {
    if (this.dd === 0 && this.pp === 0) return 1;
    if (this.dd === 0 || this.pp === 0) return 0;
    return this.dp / Math.sqrt(this.dd * this.pp);
  }
}

/** The dense and the current weights of linear layers, by Hugging Face name. */
export interface LinearSource {
  getLinear(name: string): { weight: Tensor; bias: Tensor | null };
}

/**
 * Each linear layer's own output error: an activation tap that applies both the dense weights (from `dense`) and
 * the model's current weights to the same input and accumulates MSE and cosine per layer. The two outputs of a
 * call live in the tap's own arena, reset after the call (no memory per call beyond the first).
 */
export class LayerErrorTap {
  private readonly meters = new Map<string, ErrorMeter>();
  private readonly scratch = new Arena();

  constructor(
    private readonly model: LinearSource,
    private readonly dense: ReadonlyMap<string, { weight: Tensor; bias: Tensor | null }>,
  ) {}

  /** The tap to pass to `model.block(i, h, { tap })`. */
  readonly tap = (name: string, x: Tensor /* [tokens, in] */): void => {
    const d = this.dense.get(name);
    if (!d) return;
    const p = this.model.getLinear(name);
    let m = this.meters.get(name);
    if (!m) {
      m = new ErrorMeter();
      this.meters.set(name, m);
    }
    const meter = m;
    this.scratch.use(() => {
      const yd = linear(x, d.weight, d.bias ?? undefined); // [tokens, out]
      const yp = linear(x, p.weight, p.bias ?? undefined);
      meter.addTensors(yd, yp);
    });
    this.scratch.reset();
  };

  /** Frees the tap's scratch (to the recycler). */
  dispose(): void {
    this.scratch.dispose();
  }

  /** MSE and cosine per layer seen so far. */
  results(): Map<string, { mse: number; cosine: number }> {
    const out = new Map<string, { mse: number; cosine: number }>();
    for (const [name, m] of this.meters) out.set(name, { mse: m.mse(), cosine: m.cosine() });
    return out;
  }
}
