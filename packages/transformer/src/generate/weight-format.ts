import {
  allocU16,
  enableResidentDecode,
  encodeBf16,
  encodeF16,
  freeResidentArray,
  HalfTensor,
  isResident,
  type LinearWeight,
  packResident,
  packWeight,
  releaseResident,
  residentArray,
  residentAs,
  type Tensor,
} from '@stade/tensor';
import { StadeError } from '../errors.js';

/** `--weights`: how every linear layer's weight is held for the forward pass, chosen once at load time. */
export const WEIGHT_FORMATS = ['auto', 'dense', 'f16', 'sparse'] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

/** The format one layer got: dense float32, dense 16-bit, 2:4 compressed, or unstructured sparse. */
export type LayerFormat = 'f32' | 'f16' | 'bf16' | '2:4' | 'sparse';

/** What was measured and chosen for one linear layer. */
export interface LayerChoice {
  name: string;
  format: LayerFormat;
  /** Fraction of zero weights. */
  sparsity: number;
  /** Every group of 4 consecutive inputs holds at most 2 nonzeros. */
  is24: boolean;
}

/**
 * `auto` turns an unstructured-sparse layer into the packed sparse format from this fraction of zeros on. Measured
 * (2026-12-01, bf16, weights streamed from DRAM as in a model, machine shared with other jobs): at 70% the whole
 * step's linear layers of the 1.1B Llama shape ran at 1.14x of dense bf16 on one thread and 1.18x on two (per kind
 * 0.85-1.38x; down_proj, 5632 inputs, 1.64x), end to end decode 1.07-1.19x (1.1B) and 1.05-1.07x (OPT-125M),
 * interleaved steps in one process; at 50% 0.80x (whole step), 0.83x end to end (OPT-125M): below it stays dense.
 */
export const AUTO_SPARSE_MIN = 0.7;
/**
 * The fraction of zeros from which `auto` packs a layer of `inputs` inputs: AUTO_SPARSE_MIN as a row pruned to it
 * holds it, floor(AUTO_SPARSE_MIN * inputs) / inputs (stade and Wanda prune floor(s * inputs) weights of a row, so a
 * model pruned to 70% has 1433 of 2048 zeros per row, 69.97%, and a plain `>= 0.7` kept it dense).
 */
export function autoSparseFloor(inputs: number): number {
  return Math.floor(AUTO_SPARSE_MIN * inputs) / inputs;
}
/** `auto` keeps layers with fewer inputs than this dense (the sparse format works in blocks of 512 inputs). */
export const AUTO_SPARSE_MIN_INPUTS = 256;

/** Zeros of a stored weight `[out, in]` (float32, or 16-bit patterns where ±0 is `bits & 0x7fff === 0`). */
export function measureWeight(w: Tensor | HalfTensor): { sparsity: number; is24: boolean } {
  if (w.shape.length !== 2) throw new StadeError(`weight format: expected a 2-d weight, got [${w.shape.join(', ')}]`);
  const [n, k] = w.shape as [number, number];
  // the bit patterns read in place: ±0 is `(bits & zero) === 0`
  const d = w instanceof HalfTensor ? w.data : w.values();
  const bits = d instanceof Uint16Array ? d : new Uint32Array(d.buffer, d.byteOffset, d.length);
  const zero = d instanceof Uint16Array ? 0x7fff : 0x7fffffff;
  let zeros = 0;
  let is24 = true;
  for (let r = 0; r < n; r++) {
    const row = r * k;
    let g = 0;
    for (; g + 4 <= k; g += 4) {
      const i = row + g;
      // branch-free: (0 - v) >>> 31 is 1 for v > 0
      const nz =
        ((0 - (bits[i]! & zero)) >>> 31) +
        ((0 - (bits[i + 1]! & zero)) >>> 31) +
        ((0 - (bits[i + 2]! & zero)) >>> 31) +
        ((0 - (bits[i + 3]! & zero)) >>> 31);
      zeros += 4 - nz;
      if (nz > 2) is24 = false;
    }
    if (g < k) {
      let nz = 0;
      for (let j = g; j < k; j++) if ((bits[row + j]! & zero) !== 0) nz++;
      zeros += k - g - nz;
      if (nz > 2) is24 = false;
    }
  }
  return { sparsity: n * k === 0 ? 0 : zeros / (n * k), is24 };
}

/** The dense 16-bit dtype of a weight: its own when stored 16-bit, else f16 (bf16 when a value exceeds f16's range). */
function halfDtype(w: Tensor | HalfTensor): 'f16' | 'bf16' {
  if (w instanceof HalfTensor) return w.dtype;
  const d = w.toContiguous().values();
  for (let i = 0; i < d.length; i++) if (Math.abs(d[i]!) > 65504) return 'bf16';
  return 'f16';
}

/**
 * The format `format` gives a layer: `dense` float32; `f16` dense 16-bit; `sparse` 2:4 when the pattern allows it,
 * else unstructured; `auto` 2:4 when the pattern allows it, unstructured from AUTO_SPARSE_MIN zeros on (and at
 * least AUTO_SPARSE_MIN_INPUTS inputs), else the stored dtype unchanged (no rounding).
 */
export function chooseFormat(
  format: WeightFormat,
  w: Tensor | HalfTensor,
  m: { sparsity: number; is24: boolean },
): LayerFormat {
  const stored: LayerFormat = w instanceof HalfTensor ? w.dtype : 'f32';
  switch (format) {
    case 'dense':
      return 'f32';
    case 'f16':
      return halfDtype(w);
    case 'sparse':
      return m.is24 ? '2:4' : 'sparse';
    case 'auto':
      if (m.is24 && m.sparsity > 0) return '2:4';
      if (m.sparsity >= autoSparseFloor(w.shape[1]!) && w.shape[1]! >= AUTO_SPARSE_MIN_INPUTS) return 'sparse';
      return stored;
    default:
      throw new StadeError(`unknown weight format '${String(format)}' (expected one of: ${WEIGHT_FORMATS.join(', ')})`);
  }
}

/** The weight in `f` (values exact, except f32 -> 16-bit, which rounds to nearest even). */
export function convertWeight(w: Tensor | HalfTensor, f: LayerFormat): LinearWeight {
  if (f === '2:4' || f === 'sparse') return packWeight(w, f);
  if (f === 'f32') return w instanceof HalfTensor ? w.toFloat32() : w;
  if (w instanceof HalfTensor) return w.dtype === f ? w : new HalfTensor(f, halfBits(w.toFloat32(), f), w.shape);
  return new HalfTensor(f, halfBits(w, f), w.shape);
}

function halfBits(w: Tensor, f: 'f16' | 'bf16'): Uint16Array {
  const src = w.toContiguous().values();
  const dst = allocU16(src.length);
  return f === 'f16' ? encodeF16(src, dst) : encodeBf16(src, dst);
}

/** The load-time hook `weightFormHook` makes: a `LinearForm` that also reads tensors into the resident arena. */
export interface WeightFormHook {
  (name: string, stored: Tensor | HalfTensor): LinearWeight;
  readTarget(
    name: string,
    kind: 'u16' | 'f32',
    shape: readonly number[],
    linear: boolean,
  ): Float32Array | Uint16Array | null;
  returnTarget(a: Float32Array | Uint16Array): void;
}

/** Tensors other than linear weights read into the arena from this size on (the decode scope's threshold). */
const RESIDENT_MIN_BYTES = 1 << 20;

/**
 * The load-time hook for the weight store (`setLinearForm`): measures each linear weight as it is read, picks its
 * format with `chooseFormat` and writes it in that format straight into the resident arena from the stored form
 * (`packResident`, `residentAs`: no converted copy outside the arena); `record` sees every choice (for reports).
 * Linear weights are read into the store's reused buffer: on this project's test machine, reading a file straight
 * into fresh arena pages and then scanning them was slower than reading into a reused buffer and copying. Large
 * 2-d tensors the forward multiplies by whole but the hook does not convert (an untied head) are read straight
 * into the arena (`readTarget`), so the decode scope finds them resident and holds no second copy; an embedding
 * table read by rows stays in the store.
 */
export function weightFormHook(format: WeightFormat, record?: (c: LayerChoice) => void): WeightFormHook {
  // What the hook owns in the arena, by tensor name: a layer's resident weight or a tensor's read array. A tensor
  // read again (its block was released) frees what it had.
  const resident = new Map<string, LinearWeight>();
  const lent = new Map<string, Float32Array | Uint16Array>();
  const forget = (name: string) => {
    const old = resident.get(name);
    if (old) releaseResident(old);
    resident.delete(name);
    const a = lent.get(name);
    if (a) freeResidentArray(a);
    lent.delete(name);
  };
  const form = (name: string, stored: Tensor | HalfTensor): LinearWeight => {
    forget(name);
    const m = measureWeight(stored);
    const f = chooseFormat(format, stored, m);
    record?.({ name, format: f, ...m });
    const w =
      f === '2:4' || f === 'sparse' ? packResident(stored, f) : (residentAs(stored, f) ?? convertWeight(stored, f));
    if (isResident(w)) resident.set(name, w);
    return w;
  };
  const readTarget = (name: string, kind: 'u16' | 'f32', shape: readonly number[], linear: boolean) => {
    if (linear || shape.length !== 2 || shape[0]! * shape[1]! * (kind === 'u16' ? 2 : 4) < RESIDENT_MIN_BYTES)
      return null;
    forget(name);
    const a = residentArray(kind, shape[0]! * shape[1]!);
    if (a) lent.set(name, a);
    return a;
  };
  const returnTarget = (a: Float32Array | Uint16Array) => {
    for (const [name, b] of lent) if (b === a) lent.delete(name);
    freeResidentArray(a);
  };
  return Object.assign(form, { readTarget, returnTarget });
}

/** A model whose weight store takes a load-time hook for its linear weights (DecoderModel: every architecture). */
interface LinearFormSettable {
  setLinearForm(form: WeightFormHook | null): void;
  releaseBlock(i: number): void;
  numBlocks: number;
}

/**
 * Puts every linear layer of `model` in `format` as it is loaded, held in the resident arena that the decode
 * kernels read in place (`packResident`, `residentAs`), and turns on the tensor package's decode scope (`enableResidentDecode`;
 * `releaseResidentDecode` frees it). Blocks already loaded are released first, so the format applies to them
 * when they are read again. Returns the list of choices, filled as layers load.
 */
export function applyWeightFormat(model: object, format: WeightFormat): LayerChoice[] {
  const m = model as Partial<LinearFormSettable>;
  if (typeof m.setLinearForm !== 'function' || typeof m.releaseBlock !== 'function' || m.numBlocks === undefined)
    throw new StadeError('this model has no load-time hook for its linear weights (setLinearForm)');
  const choices: LayerChoice[] = [];
  m.setLinearForm(weightFormHook(format, (c) => choices.push(c)));
  enableResidentDecode(); // the head and other large weights the hook does not see: resident on first decode use
  for (let i = 0; i < m.numBlocks; i++) m.releaseBlock(i);
  return choices;
}

/** Counts of the formats chosen, e.g. `72 2:4, 12 bf16`. */
export function summarizeChoices(choices: readonly LayerChoice[]): string {
  const counts = new Map<LayerFormat, number>();
  for (const c of choices) counts.set(c.format, (counts.get(c.format) ?? 0) + 1);
  return [...counts].map(([f, n]) => `${n} ${f}`).join(', ');
}
