/**
 * Packed sparse weights for `linear`: built once from a pruned W `[out, in]` (float32 Tensor or HalfTensor),
 * holding only the kept values (in W's own dtype: float32, bfloat16 or float16) plus positions.
 *
 * - '2:4': every group of 4 inputs keeps at most 2 values (positions padded to a pair with zero values). Per slot
 *   of 8 inputs (two groups) its 4 kept positions are the set of 4 consecutive entries of `SLOT_SEQ` (x positions
 *   0..7, alternating the two groups) starting at some window w < `SLOT_WINDOWS`; the slot stores one metadata
 *   byte `4 * w` and its 4 values in the window's order (`slotPositions`). Rows are padded to a multiple of 16
 *   inputs with zero groups. The arrays hold k blocks of BLOCK_2_4 inputs one after the other, each block row
 *   after row (`group24`): a kernel pass over one block streams its weights and keeps the block's x in L1.
 *   16-bit values interleave the two slots of every 16 inputs (`stored24`). 1.125 bytes per weight with 16-bit
 *   values (dense bf16: 2). The decode gathers a slot's 4 x values with one 16-byte load at byte `4 * w` of the
 *   slot's copy of x in `SLOT_SEQ` order (wasm/packed_module.ts).
 * - 'sparse' (unstructured): blocks of SPARSE_BLOCK inputs one after the other, each row after row (as 2:4:
 *   a kernel pass over a block streams its pairs and keeps the block's x table in L1); per row and block the kept
 *   values in pairs, each of one slot of PAIR_SLOT inputs (an odd count pads its last pair with a zero); a pair stores
 *   its 2 values and a 16-bit metadata word (2 `index` bytes, little-endian): the byte offset of its 2 x values in
 *   the block's decode table, `slot * PAIR_SLOT_BYTES + 4 * w`, w the window of PAIR_SEQ holding the pair
 *   (`pairPositions`; values in the window's order). A row's pairs in a block are padded with zero pairs to a
 *   multiple of 4; `quads[block][row]` counts the 4-pair groups, `rowStart[block][row]` holds the first pair
 *   (then the total). About 3.4 bytes per kept 16-bit value at 70% sparsity, 3.1 at 50% (pads included); the
 *   decode gathers 2 x values per 64-bit load. A bitmask format (a mask byte per 8 inputs, kept values contiguous,
 *   expanded by an `i8x16.swizzle` through a 256-entry table straight into float32 high halves) was measured
 *   against it and lost: 0.125 + 2 * density bytes per weight, but its decode does ~17 instructions per 8 inputs,
 *   kept or not, and ran compute-bound at 5-6 G weights/s per thread: 0.34-0.62x of dense bf16 at 50% and 70%
 *   where this format ran at 0.60-2.17x (kernel level, 1 and 2 threads, weights beyond L3).
 *
 * Results equal the dense kernels up to float rounding (the summation order differs).
 */
import { decodeBf16, decodeF16 } from './dtype.js';
import { fmtShape, TensorError } from './errors.js';
import { HalfTensor } from './half.js';
import { allocF32, allocF64, allocU16 } from './storage.js';
import { Tensor } from './tensor.js';

/** Packed formats: 2:4 compressed, or unstructured sparse. */
export type PackFormat = '2:4' | 'sparse';
/** Storage of the kept values (the source weight's dtype). */
export type PackedDtype = 'f32' | 'bf16' | 'f16';

/** The position pairs of a 2:4 group, by code. */
export const PAIRS_2_4: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [0, 3],
  [1, 2],
  [1, 3],
  [2, 3],
];
/** Inputs per pair slot of the unstructured format. */
export const PAIR_SLOT = 16;

/**
 * An Eulerian trail over the complete graph on a slot's PAIR_SLOT positions (plus 7 doubled edges, making all but
 * two degrees even): every pair of positions is adjacent somewhere. The decode's table per slot is x in this order.
 */
function pairTrail(n: number): number[] {
  const count = new Map<number, number>();
  const add = (a: number, b: number) => count.set(a * n + b, (count.get(a * n + b) ?? 0) + 1);
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) add(a, b);
  for (let a = 0; a + 3 < n; a += 2) add(a, a + 1);
  const next = new Array<number>(n).fill(0);
  const stack = [n - 2];
  const out: number[] = [];
  while (stack.length > 0) {
    const v = stack[stack.length - 1]!;
    let u = next[v]!;
    for (; u < n; u++) {
      const key = Math.min(u, v) * n + Math.max(u, v);
      if (u !== v && (count.get(key) ?? 0) > 0) {
        count.set(key, count.get(key)! - 1);
        break;
      }
    }
    next[v] = u; // edges to positions below u are used up
    if (u < n) stack.push(u);
    else out.push(stack.pop()!);
  }
  return out.reverse();
}

/** x positions of a pair slot in the order of its decode table (`pairTrail`; 128 entries). */
export const PAIR_SEQ: readonly number[] = pairTrail(PAIR_SLOT);
/** Bytes of one pair slot's decode table. */
export const PAIR_SLOT_BYTES = PAIR_SEQ.length * 4;
/** Inputs per block of the unstructured format (a pair's metadata, an offset in the block's table, fits 16 bits). */
export const SPARSE_BLOCK = 512;

/** Per positions a < b of a slot (index a * PAIR_SLOT + b): the first window of PAIR_SEQ holding them. */
const PAIR_WINDOW: readonly number[] = (() => {
  const win = new Array<number>(PAIR_SLOT * PAIR_SLOT).fill(-1);
  for (let w = PAIR_SEQ.length - 2; w >= 0; w--) {
    const [a, b] = [PAIR_SEQ[w]!, PAIR_SEQ[w + 1]!];
    win[Math.min(a, b) * PAIR_SLOT + Math.max(a, b)] = w;
  }
  for (let a = 0; a < PAIR_SLOT; a++)
    for (let b = a + 1; b < PAIR_SLOT; b++)
      if (win[a * PAIR_SLOT + b]! < 0) throw new Error(`PAIR_SEQ lacks the pair ${a}, ${b}`);
  return win;
})();

/** The block positions of an unstructured pair's 2 values (in storage order) from its metadata word. */
export function pairPositions(meta: number): [number, number] {
  const slot = Math.floor(meta / PAIR_SLOT_BYTES) * PAIR_SLOT;
  const w = (meta % PAIR_SLOT_BYTES) >> 2;
  return [slot + PAIR_SEQ[w]!, slot + PAIR_SEQ[w + 1]!];
}

/** Inputs per k block of the 2:4 format (a multiple of 16). */
export const BLOCK_2_4 = 256;

/**
 * Where the slot of group q (q even: inputs 4q .. 4q + 7) of row j of a 2:4 weight with n rows and kp padded
 * inputs keeps its 4 values (`v`: the first one's index before `stored24`) and its metadata byte (`m`: index in
 * `index`; the values' positions are `slotPositions(index[m])`).
 */
export function group24(n: number, kp: number, j: number, q: number): { v: number; m: number } {
  const kb = Math.floor((4 * q) / BLOCK_2_4) * BLOCK_2_4;
  const width = Math.min(BLOCK_2_4, kp - kb);
  const qb = q - kb / 4;
  return { v: (n * kb + j * width) / 2 + 2 * qb, m: (n * kb + j * width) / 8 + (qb >> 1) };
}

/**
 * x positions (0..7 in a slot; 0..3 one group, 4..7 the other, alternating) whose windows of 4 consecutive entries
 * hold every pair of one group with every pair of the other (36 sets), found by search; the decode's table per
 * slot is x in this order (`SLOT_SEQ.length` floats).
 */
export const SLOT_SEQ: readonly number[] = [
  1, 7, 0, 6, 3, 4, 1, 7, 2, 5, 3, 4, 1, 5, 2, 6, 0, 4, 1, 5, 3, 7, 0, 4, 1, 6, 2, 7, 0, 5, 1, 6, 3, 7, 2, 4, 0, 5, 3,
  6, 2, 4,
];
/** Windows of SLOT_SEQ (metadata bytes are `4 * w`, w < SLOT_WINDOWS). */
export const SLOT_WINDOWS = SLOT_SEQ.length - 3;

/** Per pair codes a, b of a slot's groups (index 6a + b): the first window holding their 4 positions. */
const WINDOW_OF: readonly number[] = Array.from({ length: 36 }, (_, code) => {
  const want = [...PAIRS_2_4[Math.floor(code / 6)]!, ...PAIRS_2_4[code % 6]!.map((p) => p + 4)].sort();
  for (let w = 0; w < SLOT_WINDOWS; w++) if (String(SLOT_SEQ.slice(w, w + 4).sort()) === String(want)) return w;
  throw new Error(`SLOT_SEQ lacks positions ${want}`);
});

/** The slot positions (0..7) of a 2:4 slot's 4 stored values, in storage order, from its metadata byte. */
export const slotPositions = (b: number): readonly number[] => SLOT_SEQ.slice(b >> 2, (b >> 2) + 4);

/**
 * Where 2:4 value v (the (v mod 4)-th kept value of slot v / 4, counted from the first row) is stored: float32
 * in order; 16-bit values interleave the 8 values of every slot pair s, t as s0 t0 s1 t1 s2 t2 s3 t3, so that
 * one 16-byte load gives the even slot's 4 values by a shift of each 32-bit lane and the odd slot's by a mask.
 */
export function stored24(v: number, half: boolean): number {
  if (!half) return v;
  const r = v & 7;
  return v - r + ((r & 3) << 1) + (r >> 2);
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** A linear weight `[out, in]` in a packed sparse format; build it with `packWeight`. */
export class PackedWeight {
  /** @internal use `packWeight` */
  constructor(
    readonly format: PackFormat,
    readonly shape: readonly [number, number],
    readonly dtype: PackedDtype,
    /** Kept values (zero padded), row after row: float32 or 16-bit patterns. */
    readonly values: Float32Array | Uint16Array,
    /** 2:4: `[out][kp/8]` metadata bytes; sparse: a 16-bit metadata word per pair. */
    readonly index: Uint8Array,
    /** sparse: `[blocks][out]` 4-pair group counts; 2:4: empty. */
    readonly quads: Uint8Array,
    /** sparse: `[blocks][out]` first pair of each row in each block, then the total; 2:4: empty. */
    readonly rowStart: Float64Array,
    /** Nonzero weights. */
    readonly nnz: number,
    /** sparse, resident copies only (wasm/resident.ts): `rowStart` as int32, for the in-place kernels. */
    readonly rowPtr: Int32Array | null = null,
  ) {}

  get ndim(): number {
    return 2;
  }

  /** Bytes held by the packed arrays. */
  get bytes(): number {
    const ptr = this.rowPtr ? this.rowPtr.byteLength : 0;
    return this.values.byteLength + this.index.byteLength + this.quads.byteLength + this.rowStart.byteLength + ptr;
  }

  /** Inputs per row after padding (2:4: a multiple of 16; sparse: of SPARSE_BLOCK). */
  get paddedIn(): number {
    return roundUp(Math.max(this.shape[1], 1), this.format === '2:4' ? 16 : SPARSE_BLOCK);
  }

  /** The dense float32 weight `[out, in]` (exact). */
  toFloat32(): Tensor {
    const [n, k] = this.shape;
    const out = Tensor.zeros([n, k]);
    const vals = widenAll(this.values, this.dtype);
    const kp = this.paddedIn;
    if (this.format === '2:4') {
      const half = this.dtype !== 'f32';
      for (let j = 0; j < n; j++) {
        for (let q = 0; q < kp / 4; q += 2) {
          const { v, m } = group24(n, kp, j, q);
          slotPositions(this.index[m]!).forEach((p, l) => {
            if (4 * q + p < k) out.data[j * k + 4 * q + p] = vals[stored24(v + l, half)]!;
          });
        }
      }
      return out;
    }
    const nb = kp / SPARSE_BLOCK;
    for (let b = 0; b < nb; b++) {
      for (let j = 0; j < n; j++) {
        const e0 = this.rowStart[b * n + j]!;
        // padding values are zero: adding them changes nothing
        for (let e = e0; e < e0 + 4 * this.quads[b * n + j]!; e++)
          pairPositions(this.index[2 * e]! | (this.index[2 * e + 1]! << 8)).forEach((p, l) => {
            if (b * SPARSE_BLOCK + p < k) out.data[j * k + b * SPARSE_BLOCK + p]! += vals[2 * e + l]!;
          });
      }
    }
    return out;
  }
}

function widenAll(values: Float32Array | Uint16Array, dtype: PackedDtype): Float32Array {
  if (values instanceof Float32Array) return values;
  const out = new Float32Array(values.length);
  return dtype === 'bf16' ? decodeBf16(values, out) : decodeF16(values, out);
}

/**
 * The source weight as raw bit patterns, read in place (nothing widened, nothing copied for a contiguous
 * weight): 16-bit patterns, or float32 bits as uint32. A value is zero when `(bits & zero) === 0` (±0); its
 * bits are copied unchanged into the packed values.
 */
function source(w: Tensor | HalfTensor): {
  bits: Uint16Array | Uint32Array;
  zero: number;
  dtype: PackedDtype;
  n: number;
  k: number;
} {
  if (w.ndim !== 2) throw new TensorError(`packWeight: weight must be 2-d [out, in], got ${fmtShape(w.shape)}`);
  const [n, k] = w.shape as [number, number];
  if (w instanceof HalfTensor) return { bits: w.rowMajor().data, zero: 0x7fff, dtype: w.dtype, n, k };
  const d = w.values(); // a view of a contiguous weight (a copy only for a strided one)
  return { bits: new Uint32Array(d.buffer, d.byteOffset, d.length), zero: 0x7fffffff, dtype: 'f32', n, k };
}

/** Where `packWeight` allocates the packed arrays (zero-filled); `resident.ts` packs straight into the arena. */
export interface PackAlloc {
  f32(len: number): Float32Array;
  u16(len: number): Uint16Array;
  u8(len: number): Uint8Array;
}

/** Shared storage when available (so the pool reads the arrays without copies). */
const STORAGE: PackAlloc = {
  f32: allocF32,
  u16: allocU16,
  u8: (len) => new Uint8Array(allocU16(Math.ceil(len / 2)).buffer, 0, len),
};

/** The packed values array of `dtype` and a raw-bit view of it (the same memory). */
function alloc(
  into: PackAlloc,
  dtype: PackedDtype,
  len: number,
): { values: Float32Array | Uint16Array; bits: Uint16Array | Uint32Array } {
  if (dtype !== 'f32') {
    const values = into.u16(len);
    return { values, bits: values };
  }
  const values = into.f32(len);
  return { values, bits: new Uint32Array(values.buffer, values.byteOffset, len) };
}

/**
 * By the nonzero mask of a group of 4 inputs (bit p: input p): the 2:4 pair code that keeps them (fewer than 2
 * nonzeros are filled up with the lowest zero positions), or -1 for more than 2 nonzeros.
 */
const CODE_BY_MASK: readonly number[] = Array.from({ length: 16 }, (_, mask) => {
  const pos = [0, 1, 2, 3].filter((p) => (mask >> p) & 1);
  if (pos.length > 2) return -1;
  for (let p = 0; pos.length < 2; p++) if (!pos.includes(p)) pos.push(p);
  pos.sort((a, b) => a - b);
  return PAIRS_2_4.findIndex(([a, b]) => a === pos[0] && b === pos[1]);
});
const BITS_IN: readonly number[] = Array.from(
  { length: 16 },
  (_, m) => (m & 1) + ((m >> 1) & 1) + ((m >> 2) & 1) + (m >> 3),
);

/**
 * Packs a pruned weight `[out, in]` into `format`. '2:4' requires at most 2 nonzeros in every group of 4
 * consecutive inputs (else a TensorError names the row and columns); 'sparse' takes any pattern. Values keep
 * the weight's dtype (a HalfTensor stays 16-bit); -0 counts as zero.
 */
export function packWeight(w: Tensor | HalfTensor, format: PackFormat, into: PackAlloc = STORAGE): PackedWeight {
  const s = source(w);
  if (format === '2:4') return pack24(s, into);
  if (format === 'sparse') return packSparse(s, into);
  throw new TensorError(`packWeight: unknown format '${String(format)}' (expected '2:4' or 'sparse')`);
}

/*
 * The packers read the source's bit patterns in place and write straight into the arrays from `into`: no
 * widened or intermediate copy of the weight, and no allocation but the packed arrays (and, for 'sparse', the
 * `rowStart` offsets).
 */

function pack24(s: ReturnType<typeof source>, into: PackAlloc): PackedWeight {
  const { bits: src, zero, dtype, n, k } = s;
  const kp = roundUp(Math.max(k, 1), 16);
  const g = kp / 4;
  const half = dtype !== 'f32';
  const { values, bits: dst } = alloc(into, dtype, n * (kp / 2));
  const index = into.u8(n * (kp / 8));
  let nnz = 0;
  /** The nonzero mask of group q of the row starting at `row` (bit p: input 4q + p), checked for 2:4. */
  const groupMask = (row: number, j: number, q: number): number => {
    const c0 = 4 * q;
    const i = row + c0;
    let mask = 0;
    if (c0 + 4 <= k)
      // branch-free: (0 - v) >>> 31 is 1 for v > 0
      mask =
        ((0 - (src[i]! & zero)) >>> 31) |
        (((0 - (src[i + 1]! & zero)) >>> 31) << 1) |
        (((0 - (src[i + 2]! & zero)) >>> 31) << 2) |
        (((0 - (src[i + 3]! & zero)) >>> 31) << 3);
    else for (let p = 0; c0 + p < k; p++) mask |= ((0 - (src[i + p]! & zero)) >>> 31) << p;
    if (CODE_BY_MASK[mask]! < 0)
      throw new TensorError(
        `packWeight: weight [${n}, ${k}] is not 2:4 sparse: row ${j}, columns ${c0}..${c0 + 3} hold ${BITS_IN[mask]} nonzeros`,
      );
    return mask;
  };
  for (let j = 0; j < n; j++) {
    const row = j * k;
    for (let q0 = 0; q0 < g; q0 += BLOCK_2_4 / 4) {
      // one row's slots of a block are consecutive: 4 values and 1 metadata byte per slot (checked at its last)
      const { v: v0, m: m0 } = group24(n, kp, j, q0);
      const qEnd = Math.min(g, q0 + BLOCK_2_4 / 4);
      const last = group24(n, kp, j, qEnd - 2);
      if (last.v !== v0 + 2 * (qEnd - 2 - q0) || last.m !== m0 + ((qEnd - 2 - q0) >> 1))
        throw new Error('pack24: group24 no longer keeps the slots of a block row consecutive; update the packer');
      for (let q = q0; q < qEnd; q += 2) {
        // the slot of groups q, q + 1: positions 0..3 and 4..7 of its 8 inputs
        const lo = groupMask(row, j, q);
        const hi = groupMask(row, j, q + 1);
        nnz += BITS_IN[lo]! + BITS_IN[hi]!;
        const w = WINDOW_OF[6 * CODE_BY_MASK[lo]! + CODE_BY_MASK[hi]!]!;
        const v = v0 + 2 * (q - q0);
        index[m0 + ((q - q0) >> 1)] = 4 * w;
        const mask = lo | (hi << 4);
        const i = row + 4 * q;
        // only nonzeros are written: padding positions and positions past k keep the zero fill
        for (let l = 0; l < 4; l++) {
          const p = SLOT_SEQ[w + l]!;
          if ((mask >> p) & 1) dst[stored24(v + l, half)] = src[i + p]!;
        }
      }
    }
  }
  // an empty quads array in shared storage too: one plain buffer among a kernel's arguments sends every pool job
  // down the copying path (2:4 ran 2-10x slower on 2 threads)
  return new PackedWeight('2:4', [n, k], dtype, values, index, STORAGE.u8(0), allocF64(0), nnz);
}

/** Set bits of a 16-bit mask. */
function popcount16(m: number): number {
  m -= (m >> 1) & 0x5555;
  m = (m & 0x3333) + ((m >> 2) & 0x3333);
  m = (m + (m >> 4)) & 0x0f0f;
  return (m + (m >> 8)) & 0x1f;
}

/** The lowest set bit's index of a nonzero mask. */
const lowestBit = (m: number): number => 31 - Math.clz32(m & -m);

function packSparse(s: ReturnType<typeof source>, into: PackAlloc): PackedWeight {
  const { bits: src, zero, dtype, n, k } = s;
  const nb = roundUp(Math.max(k, 1), SPARSE_BLOCK) / SPARSE_BLOCK;
  const slots = SPARSE_BLOCK / PAIR_SLOT;
  const quads = into.u8(n * nb);
  const rowStart = allocF64(n * nb + 1);
  /** The nonzero mask of pair slot t of row j (bit p: input PAIR_SLOT * t + p). */
  const slotMask = (j: number, t: number): number => {
    const i = j * k + PAIR_SLOT * t;
    const len = Math.min(PAIR_SLOT, k - PAIR_SLOT * t);
    let mask = 0;
    // branch-free: (0 - v) >>> 31 is 1 for v > 0
    for (let p = 0; p < len; p++) mask |= ((0 - (src[i + p]! & zero)) >>> 31) << p;
    return mask;
  };
  let pairs = 0;
  let nnz = 0;
  for (let b = 0; b < nb; b++) {
    for (let j = 0; j < n; j++) {
      rowStart[b * n + j] = pairs;
      let c = 0;
      for (let t = b * slots; t < (b + 1) * slots; t++) {
        const m = popcount16(slotMask(j, t));
        nnz += m;
        c += (m + 1) >> 1;
      }
      quads[b * n + j] = Math.ceil(c / 4);
      pairs += 4 * Math.ceil(c / 4);
    }
  }
  rowStart[n * nb] = pairs;
  const { values, bits: dst } = alloc(into, dtype, 2 * pairs);
  const index = into.u8(2 * pairs); // zero pairs: metadata 0, values 0
  for (let b = 0; b < nb; b++) {
    for (let j = 0; j < n; j++) {
      let e = rowStart[b * n + j]!;
      for (let t = b * slots; t < (b + 1) * slots; t++) {
        let mask = slotMask(j, t);
        for (; mask !== 0; e++) {
          const a = lowestBit(mask);
          mask &= mask - 1;
          const both = mask !== 0;
          const c = both ? lowestBit(mask) : a === 0 ? 1 : 0; // a zero value pads an odd count
          mask &= mask - 1;
          const w = PAIR_WINDOW[Math.min(a, c) * PAIR_SLOT + Math.max(a, c)]!;
          const meta = (t - b * slots) * PAIR_SLOT_BYTES + 4 * w;
          index[2 * e] = meta & 255;
          index[2 * e + 1] = meta >> 8;
          const i = j * k + PAIR_SLOT * t;
          for (let l = 0; l < 2; l++) {
            const p = PAIR_SEQ[w + l]!;
            if (p === a || (both && p === c)) dst[2 * e + l] = src[i + p]!;
          }
        }
      }
    }
  }
  return new PackedWeight('sparse', [n, k], dtype, values, index, quads, rowStart, nnz);
}
