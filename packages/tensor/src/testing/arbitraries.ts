/**
 * fast-check arbitraries for tensor tests. Dimensions favour the awkward sizes (1, primes, odd numbers);
 * tensor contents are drawn from a seed, so shrinking acts on shapes and seeds instead of on every value.
 */
import fc from 'fast-check';
import { contiguousStrides, numel, type Shape } from '../layout.js';
import { allocF32 } from '../storage.js';
import { Tensor } from '../tensor.js';
import { fillRandn, mulberry32 } from './random.js';

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  /** Largest dimension (default 13). */
  maxDim?: number;
  /** Smallest dimension (default 1). */
  minDim?: number;
}

const AWKWARD = [1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 31, 37, 61, 67, 127, 131];

/** One dimension: 1, a prime or any integer in [minDim, maxDim]. */
export function arbDim(maxDim = 13, minDim = 1): fc.Arbitrary<number> {
  const special = AWKWARD.filter((d) => d >= minDim && d <= maxDim);
  const any = fc.integer({ min: minDim, max: maxDim });
  return special.length > 0 ? fc.oneof(any, fc.constantFrom(...special)) : any;
}

/** A shape with rank in [minRank, maxRank] (defaults 1..3) and dims from `arbDim`. */
export function arbShape(opts: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minRank = 1, maxRank = 3, maxDim = 13, minDim = 1 } = opts;
  return fc.array(arbDim(maxDim, minDim), { minLength: minRank, maxLength: maxRank });
}

export interface TensorOptions {
  /** Standard deviation of the values (default 1). */
  std?: number;
  /** Mean of the values (default 0). */
  mean?: number;
}

const arbSeed = fc.integer({ min: 0, max: 0x7fffffff });

function asShapeArb(shape: Shape | fc.Arbitrary<readonly number[]> | undefined): fc.Arbitrary<readonly number[]> {
  if (shape === undefined) return arbShape();
  if (shape instanceof fc.Arbitrary) return shape;
  return fc.constant(shape);
}

/** A contiguous tensor with normal values; `shape` is fixed, an arbitrary, or random (`arbShape()`). */
export function arbTensor(
  shape?: Shape | fc.Arbitrary<readonly number[]>,
  opts: TensorOptions = {},
): fc.Arbitrary<Tensor> {
  return fc.tuple(asShapeArb(shape), arbSeed).map(([s, seed]) => {
    const t = Tensor.zeros(s);
    fillRandn(t.data, mulberry32(seed), opts.std ?? 1, opts.mean ?? 0);
    return t;
  });
}

/**
 * Builds a non-contiguous view of exactly `shape`: a bigger random tensor whose axes are stored in the order
 * `perm`, padded by `pad[i]` elements on axis i, read from `start[i]` with a step of `step[i]`.
 */
export function stridedView(
  shape: Shape,
  layout: { perm: number[]; pad: number[]; start: number[]; step: number[] },
  seed: number,
  opts: TensorOptions = {},
): Tensor {
  const d = shape.length;
  const { perm, pad, start, step } = layout;
  // Axis i of the view lives at position pos[i] of the base.
  const pos = new Array<number>(d);
  for (let j = 0; j < d; j++) pos[perm[j]!] = j;
  const baseShape = perm.map((i) => Math.max(0, (shape[i]! - 1) * step[i]! + 1) + pad[i]!);
  const baseStrides = contiguousStrides(baseShape);
  const data = allocF32(numel(baseShape));
  fillRandn(data, mulberry32(seed), opts.std ?? 1, opts.mean ?? 0);
  let offset = 0;
  const strides = new Array<number>(d);
  for (let i = 0; i < d; i++) {
    const bs = baseStrides[pos[i]!]!;
    strides[i] = bs * step[i]!;
    offset += Math.min(start[i]!, pad[i]!) * bs;
  }
  return new Tensor(data, shape, strides, offset);
}

/**
 * A strided view (permuted storage order, narrowed with padding, optional steps) of a bigger random tensor,
 * with exactly the given (or generated) shape. Elements outside the view hold random values too, so a kernel
 * that reads the wrong element fails.
 */
export function arbStridedView(
  shape?: Shape | fc.Arbitrary<readonly number[]>,
  opts: TensorOptions = {},
): fc.Arbitrary<Tensor> {
  return asShapeArb(shape).chain((s) => {
    const d = s.length;
    const idx = Array.from({ length: d }, (_, i) => i);
    return fc
      .record({
        perm: fc.shuffledSubarray(idx, { minLength: d, maxLength: d }),
        pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: d, maxLength: d }),
        start: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: d, maxLength: d }),
        step: fc.array(fc.constantFrom(1, 1, 2), { minLength: d, maxLength: d }),
        seed: arbSeed,
      })
      .map(({ seed, ...layout }) => stridedView(s, layout, seed, opts));
  });
}

/** Either a contiguous tensor or a strided view of the shape, with equal probability. */
export function arbAnyLayout(
  shape?: Shape | fc.Arbitrary<readonly number[]>,
  opts: TensorOptions = {},
): fc.Arbitrary<Tensor> {
  const s = asShapeArb(shape);
  return s.chain((sh) => fc.oneof(arbTensor(sh, opts), arbStridedView(sh, opts)));
}

/** Two shapes that broadcast together: a common shape with some dims set to 1 or dropped from the front. */
export function arbBroadcastShapes(opts: ShapeOptions = {}): fc.Arbitrary<[number[], number[]]> {
  return arbShape(opts).chain((full) =>
    fc
      .tuple(
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
        fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
        fc.integer({ min: 0, max: full.length }),
        fc.boolean(),
      )
      .map(([oneA, oneB, drop, dropA]) => {
        const a = full.map((v, i) => (oneA[i] ? 1 : v));
        const b = full.map((v, i) => (oneB[i] && !oneA[i] ? 1 : v));
        if (dropA) a.splice(0, drop);
        else b.splice(0, drop);
        return [a, b] as [number[], number[]];
      }),
  );
}
