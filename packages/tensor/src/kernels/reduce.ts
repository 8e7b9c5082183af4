/**
 * Reductions of a contiguous `[outer, n, inner]` block along its middle axis into `[outer, inner]`,
 * accumulated in float64. Row r of the kernel is outer index r.
 */

/** Reduction codes. */
export const Reduce = { Sum: 0, Mean: 1, Max: 2, Var: 3 } as const;
export type Reduce = (typeof Reduce)[keyof typeof Reduce];

export type ReduceArgs = {
  readonly x: Float32Array; // [outer, n, inner] contiguous from xOff
  readonly xOff: number;
  readonly out: Float32Array; // [outer, inner]
  readonly n: number;
  readonly inner: number;
  readonly kind: Reduce;
  /** Divisor offset for variance: 1 = unbiased (n - 1), 0 = biased. */
  readonly correction: number;
};

export function reduceRows(args: ReduceArgs, rowStart: number, rowEnd: number): void {
  const { x, xOff, out, n, inner, kind, correction } = args;
  const acc = new Float64Array(inner);
  const mean = kind === Reduce.Var ? new Float64Array(inner) : acc;
  for (let r = rowStart; r < rowEnd; r++) {
    const base = xOff + r * n * inner;
    if (kind === Reduce.Max) {
      acc.fill(-Infinity);
      for (let k = 0; k < n; k++) {
        const o = base + k * inner;
        for (let i = 0; i < inner; i++) {
          const v = x[o + i]!;
          if (v > acc[i]! || Number.isNaN(v)) acc[i] = Number.isNaN(v) || Number.isNaN(acc[i]!) ? Number.NaN : v;
        }
      }
    } else {
      acc.fill(0);
      for (let k = 0; k < n; k++) {
        const o = base + k * inner;
        for (let i = 0; i < inner; i++) acc[i] += x[o + i]!;
      }
      if (kind !== Reduce.Sum) for (let i = 0; i < inner; i++) mean[i] = acc[i]! / n;
      if (kind === Reduce.Var) {
        acc.fill(0);
        for (let k = 0; k < n; k++) {
          const o = base + k * inner;
          for (let i = 0; i < inner; i++) {
            const d = x[o + i]! - mean[i]!;
            acc[i] += d * d;
          }
        }
        const div = n - correction;
        for (let i = 0; i < inner; i++) acc[i] = div > 0 ? acc[i]! / div : Number.NaN;
      }
    }
    out.set(acc, r * inner);
  }
}
