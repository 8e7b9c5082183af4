import { allocF32, isShared, kthSmallestPerRow, quickselect, sharedMemoryAvailable, Tensor } from '@stade/tensor';
import { PruneError } from './errors.js';

/** Sparsity pattern: unstructured, or N pruned in every M consecutive inputs of a row. */
export type Pattern = 'unstructured' | { n: number; m: number };
/** Comparison group of unstructured selection: per output row (default) or the whole layer. */
export type Group = 'row' | 'layer';

export interface MaskOptions {
  /** Fraction in [0, 1) to prune; with N:M it may be omitted and must equal N/M if given. */
  sparsity?: number;
  pattern?: Pattern | string;
  group?: Group;
  /** Used in error messages. */
  layerName?: string;
}

const where = (layer?: string): string => (layer ? ` (layer ${layer})` : '');

/** Parses `unstructured`, `2:4`, `4:8`, ... or passes an object through, validating N < M... */
export function parsePattern(p: Pattern | string | undefined, layerName?: string): Pattern {
  if (p === undefined || p === 'unstructured') return 'unstructured';
  let n: number;
  let m: number;
  if (typeof p === 'string') {
    const r = /^(\d+):(\d+)$/.exec(p.trim());
    if (!r)
      throw new PruneError(
        `invalid pattern ${JSON.stringify(p)}${where(layerName)}: use unstructured or N:M such as 2:4`,
      );
    n = Number(r[1]);
    m = Number(r[2]);
  } else {
    n = p.n;
    m = p.m;
  }
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1 || n < 0 || n >= m) {
    throw new PruneError(`invalid N:M pattern ${n}:${m}${where(layerName)}: need integers 0 <= N < M`);
  }
  return { n, m };
}

/** Validates a sparsity in [0, 1). */
export function checkSparsity(s: number, layerName?: string): number {
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s >= 1) {
    throw new PruneError(`sparsity ${s} is outside [0, 1)${where(layerName)}`);
  }
  return s;
}

/**
 * The sparsity a pattern implies: N/M for N:M (an explicit different sparsity is an error), else the given one.
 */
export function resolveSparsity(pattern: Pattern, sparsity: number | undefined, layerName?: string): number {
  if (pattern === 'unstructured') {
    if (sparsity === undefined)
      throw new PruneError(`sparsity is required for unstructured pruning${where(layerName)}`);
    return checkSparsity(sparsity, layerName);
  }
  const s = pattern.n / pattern.m;
  if (sparsity !== undefined && Math.abs(sparsity - s) > 1e-9) {
    throw new PruneError(
      `sparsity ${sparsity} does not match the N:M pattern ${pattern.n}:${pattern.m} (= ${s})${where(layerName)}`,
    );
  }
  return s;
}

/** Checks `in % M == 0` for N:M patterns. */
export function checkPatternFits(pattern: Pattern, inp: number, layerName?: string): void {
  if (pattern !== 'unstructured' && inp % pattern.m !== 0) {
    throw new PruneError(
      `N:M pattern ${pattern.n}:${pattern.m} needs the input size to be a multiple of ${pattern.m}, got ${inp}${where(layerName)}`,
    );
  }
}

const key = (x: number): number => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x);

/**
 * Marks the k lowest of scores[base .. base+len) in mask given t, the k-th smallest key (NaN counting as +Infinity),
 * ties going to the lower index (exactly what a stable ascending sort would pick).
 */
function markBelow(scores: Float32Array, base: number, len: number, k: number, t: number, mask: Uint8Array): void {
  const end = base + len;
  if (t !== Number.POSITIVE_INFINITY) {
    // branch-free counts (a data-dependent branch per weight costs more than the selection): NaN < t is false
    let below = 0;
    let eq = 0;
    for (let j = base; j < end; j++) {
      const v = scores[j]!;
      below += +(v < t);
      eq += +(v === t);
    }
    if (below + eq === k) {
      for (let j = base; j < end; j++) mask[j] = +(scores[j]! <= t);
      return;
    }
  }
  let below = 0;
  for (let j = base; j < end; j++) if (key(scores[j]!) < t) below++;
  let ties = k - below; // how many entries equal to t to take, lowest index first
  for (let j = base; j < end; j++) {
    const v = key(scores[j]!);
    if (v < t) mask[j] = 1;
    else if (v === t && ties > 0) {
      mask[j] = 1;
      ties--;
    }
  }
}

/** Marks the k lowest of scores[base .. base+len) in mask (see markBelow); `scratch` has room for len values. */
function markLowest(
  scores: Float32Array,
  base: number,
  len: number,
  k: number,
  mask: Uint8Array,
  scratch: Float64Array,
): void {
  if (k <= 0) return;
  if (k >= len) {
    mask.fill(1, base, base + len);
    return;
  }
  for (let j = 0; j < len; j++) scratch[j] = key(scores[base + j]!);
  markBelow(scores, base, len, k, quickselect(scratch, len, k - 1), mask);
}

/**
 * A zero-filled byte array lent by the current owner (the driver's layer arena), not a fresh allocation: on a
 * large layer, first-touching fresh pages costs more than the selection itself.
 */
export function allocMask(n: number): Uint8Array {
  return new Uint8Array(allocF32(Math.ceil(n / 4)).buffer, 0, n);
}

/**
 * Selects which weights to prune from row-major [out, in] scores (SPEC 5). Returns a Uint8Array with 1 = pruned.
 * `row`: floor(in * s) lowest per row; `layer`: floor(out * in * s) lowest overall; N:M: the N lowest of each group
 * of M consecutive inputs per row. Ties break towards the lower index; counts are exact.
 */
export function selectMask(scores: Float32Array, out: number, inp: number, opts: MaskOptions): Uint8Array {
  const name = opts.layerName;
  if (scores.length !== out * inp)
    throw new PruneError(`selectMask: ${scores.length} scores for a [${out}, ${inp}] weight${where(name)}`);
  const pattern = parsePattern(opts.pattern, name);
  const sparsity = resolveSparsity(pattern, opts.sparsity, name);
  const mask = allocMask(out * inp);
  if (pattern !== 'unstructured') {
    checkPatternFits(pattern, inp, name);
    const { n, m } = pattern;
    const scratch = new Float64Array(m);
    for (let g = 0; g < out * inp; g += m) markLowest(scores, g, m, n, mask, scratch);
    return mask;
  }
  const group = opts.group ?? 'row';
  if (group === 'row') {
    const k = Math.floor(inp * sparsity);
    if (k <= 0) return mask;
    if (k >= inp) return mask.fill(1);
    // every row's k-th smallest on the worker pool (NaN: the k-th falls among the row's NaNs, i.e. +Infinity)
    const shared = isShared(scores) || !sharedMemoryAvailable ? scores : allocF32(scores.length);
    if (shared !== scores) shared.set(scores);
    const kth = kthSmallestPerRow(new Tensor(shared, [out, inp]), k - 1); // [out]
    for (let i = 0; i < out; i++) markBelow(scores, i * inp, inp, k, key(kth[i]!), mask);
  } else if (group === 'layer') {
    const k = Math.floor(out * inp * sparsity);
    markLowest(scores, 0, out * inp, k, mask, new Float64Array(out * inp));
  } else {
    throw new PruneError(`unknown group ${JSON.stringify(group)}${where(name)}: use row or layer`);
  }
  return mask;
}

/** A new [out, in] weight with the masked entries set to zero. */
export function applyMask(w: Tensor, mask: Uint8Array): Tensor {
  const out = w.clone();
  if (mask.length !== out.size)
    throw new PruneError(`applyMask: mask of ${mask.length} entries for weight [${w.shape.join(', ')}]`);
  // on the bit patterns, branch-free: mask 1 clears every bit (+0), mask 0 keeps the weight
  const bits = new Int32Array(out.data.buffer, out.data.byteOffset + out.offset * 4, out.size);
  for (let k = 0; k < mask.length; k++) bits[k] = bits[k]! & (+(mask[k] !== 0) - 1);
  return out;
}

/**
 * STADE's bias correction (SPEC 6), from the weights BEFORE zeroing: b_i + sum_{j pruned} W_ij * mean_j, in float64.
 * Returns a new [out] bias (zeros when the layer had none).
 */
export function biasCorrection(w: Tensor, bias: Tensor | null, mask: Uint8Array, mean: Float64Array): Tensor {
  if (w.ndim !== 2) throw new PruneError(`biasCorrection: weight must be 2-D, got [${w.shape.join(', ')}]`);
  const out = w.shape[0]!;
  const inp = w.shape[1]!;
  if (mean.length !== inp) throw new PruneError(`biasCorrection: ${mean.length} means for ${inp} inputs`);
  if (bias && bias.size !== out)
    throw new PruneError(`biasCorrection: bias of ${bias.size} entries for ${out} outputs`);
  const v = w.values();
  const b = bias ? bias.values() : null;
  const res = Tensor.zeros([out]);
  for (let i = 0; i < out; i++) {
    let s = b ? b[i]! : 0;
    const o = i * inp;
    for (let j = 0; j < inp; j++) if (mask[o + j]) s += v[o + j]! * mean[j]!;
    res.data[i] = s;
  }
  return res;
}

/** Number of ones in a mask. */
export function countPruned(mask: Uint8Array): number {
  let c = 0;
  for (let k = 0; k < mask.length; k++) c += mask[k]!;
  return c;
}
