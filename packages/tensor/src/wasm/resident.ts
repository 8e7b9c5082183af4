/**
 * Resident weights: copies of linear weights in the shared arena (arena.ts), which the decode kernels read in
 * place on every thread. The caller owns a resident weight: `releaseResident` returns its memory to the arena.
 */
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from '../dtype.js';
import { HalfTensor } from '../half.js';
import { kBlockFor, writeRowsKBlocked } from '../kblocked.js';
import { type PackAlloc, PackedWeight, type PackFormat, packWeight } from '../packed.js';
import { Tensor } from '../tensor.js';
import { arenaAlloc, arenaCopy, arenaFree, arenaOffset } from './arena.js';

/** A weight `linear` takes (same as ops/matmul.ts's LinearWeight). */
type Weight = Tensor | HalfTensor | PackedWeight;

/**
 * A copy of `w` in the resident arena (same values, same format), or `w` itself when it is already resident
 * or does not fit (the arenas: 4 GiB each, MAX_ARENAS of them) or the runtime has no shared wasm memory.
 */
export function makeResident(w: Weight): Weight {
  if (isResident(w)) return w;
  if (w instanceof HalfTensor) {
    const kb = w.ndim === 2 ? kBlockFor(w.shape[1]!) : 0;
    if (kb === 0 || w.kBlock === kb) {
      const d = arenaCopy(w.data);
      return d ? new HalfTensor(w.dtype, d, w.shape, w.kBlock) : w;
    }
    // long rows: k-blocked (kblocked.ts), which the decode reads faster
    const d = arenaAlloc(Uint16Array, w.size, undefined, false);
    if (!d) return w;
    const [n, k] = w.shape as [number, number];
    writeRowsKBlocked(w.rowMajor().data, n, k, kb, 0, n, d);
    return new HalfTensor(w.dtype, d, w.shape, kb);
  }
  if (w instanceof Tensor) {
    if (w.ndim !== 2) return w;
    const d = arenaCopy(w.toContiguous().values());
    return d ? new Tensor(d, w.shape) : w;
  }
  const parts = [w.values, w.index, w.quads] as const;
  // every array of a packed weight in one arena (one kernel instance reads them all)
  const first = arenaCopy(parts[0]);
  const copies = [first, ...parts.slice(1).map((p) => (first ? arenaCopy(p, first) : null))];
  const ptr = w.format === 'sparse' && first ? arenaCopy(Int32Array.from(w.rowStart), first) : null;
  if (copies.some((c) => c === null) || (w.format === 'sparse' && ptr === null)) {
    for (const c of [...copies, ptr]) if (c) arenaFree(c);
    return w;
  }
  const [values, index, quads] = copies as [Float32Array | Uint16Array, Uint8Array, Uint8Array];
  return new PackedWeight(w.format, w.shape, w.dtype, values, index, quads, w.rowStart, w.nnz, ptr);
}

/** Elements converted per step between two 16-bit dtypes (through `scratch`). */
const CHUNK = 1 << 14;
/** This module's scratch for 16-bit to 16-bit conversions (64 KB, allocated once, reused by every call). */
let scratch: Float32Array | null = null;

/**
 * A resident copy of the 2-d weight `w` in `dtype`, written straight into the arena (no intermediate copy of the
 * whole weight): exact when `dtype` is w's own or float32, else rounded to nearest even (16-bit to 16-bit goes
 * through float32 in chunks of a fixed scratch buffer). Null when it does not fit in the arena (or there is none).
 * The caller owns the result (`releaseResident`).
 */
export function residentAs(w: Tensor | HalfTensor, dtype: 'f32' | 'f16' | 'bf16'): Tensor | HalfTensor | null {
  const src = w instanceof HalfTensor ? w.rowMajor().data : w.values(); // a view of a contiguous weight
  if (dtype === 'f32') {
    const out = arenaAlloc(Float32Array, src.length, undefined, false);
    if (!out) return null;
    if (src instanceof Float32Array) out.set(src);
    else if ((w as HalfTensor).dtype === 'bf16') decodeBf16(src, out);
    else decodeF16(src, out);
    return new Tensor(out, w.shape);
  }
  const out = arenaAlloc(Uint16Array, src.length, undefined, false);
  if (!out) return null;
  const encode = dtype === 'bf16' ? encodeBf16 : encodeF16;
  // elements [i, i + m) of w in `dtype` into `dst` (m <= CHUNK unless no conversion)
  const put = (i: number, m: number, dst: Uint16Array) => {
    const s = src.subarray(i, i + m);
    if (s instanceof Float32Array) encode(s, dst);
    else if ((w as HalfTensor).dtype === dtype) dst.set(s);
    else {
      scratch ??= new Float32Array(CHUNK);
      encode(((w as HalfTensor).dtype === 'bf16' ? decodeBf16 : decodeF16)(s, scratch.subarray(0, m)), dst);
    }
  };
  const [n, k] = w.shape as [number, number];
  const kb = w.shape.length === 2 ? kBlockFor(k) : 0;
  if (kb === 0) {
    for (let i = 0; i < src.length; i += CHUNK) put(i, Math.min(CHUNK, src.length - i), out.subarray(i));
    return new HalfTensor(dtype, out, w.shape);
  }
  // long rows: k-blocked (kblocked.ts), whole rows at a time through a fixed buffer
  const rows = Math.max(1, Math.floor(CHUNK / k));
  if (rowBuf.length < rows * k) rowBuf = new Uint16Array(rows * k);
  for (let r0 = 0; r0 < n; r0 += rows) {
    const cnt = Math.min(rows, n - r0);
    for (let i = 0; i < cnt * k; i += CHUNK) put(r0 * k + i, Math.min(CHUNK, cnt * k - i), rowBuf.subarray(i));
    writeRowsKBlocked(rowBuf, n, k, kb, r0, cnt, out);
  }
  return new HalfTensor(dtype, out, w.shape, kb);
}

/** Row-major 16-bit rows on their way to a k-blocked resident copy (`residentAs`). */
let rowBuf = new Uint16Array(0);

/**
 * An array of `n` elements in the resident arena to read a weight's stored data into (`u16`: 16-bit patterns,
 * `f32`), or null when it does not fit (or there is no arena). Its contents are unspecified: the caller fills it.
 * The caller owns it: `freeResidentArray`, or `releaseResident` of a weight made over it.
 */
export function residentArray(kind: 'u16' | 'f32', n: number): Uint16Array | Float32Array | null {
  return kind === 'u16' ? arenaAlloc(Uint16Array, n, undefined, false) : arenaAlloc(Float32Array, n, undefined, false);
}

/** Returns an array from `residentArray` (or any resident weight's array) to the arena. */
export function freeResidentArray(a: Uint16Array | Float32Array): void {
  arenaFree(a);
}

/** Thrown by the arena allocator of `packResident` when the arena is full. */
class ArenaFull extends Error {}

/**
 * `packWeight(w, format)` with the packed arrays allocated straight in the resident arena (no packed copy outside
 * it, so a layer briefly holds two copies of its weight instead of three); where the arena cannot hold them, the
 * weight is packed as usual (not resident). The caller owns the result (`releaseResident`).
 */
export function packResident(w: Tensor | HalfTensor, format: PackFormat): PackedWeight {
  const held: ArrayBufferView[] = [];
  const near = (): ArrayBufferView | undefined => held[0]; // every array in the first one's arena
  const take = <T extends Float32Array | Uint16Array | Uint8Array | Int32Array>(a: T | null): T => {
    if (!a) throw new ArenaFull();
    held.push(a);
    return a;
  };
  const into: PackAlloc = {
    f32: (len) => take(arenaAlloc(Float32Array, len, near())),
    u16: (len) => take(arenaAlloc(Uint16Array, len, near())),
    u8: (len) => take(arenaAlloc(Uint8Array, len, near())),
  };
  try {
    const p = packWeight(w, format, into);
    if (format !== 'sparse') return p;
    const ptr = take(arenaAlloc(Int32Array, p.rowStart.length, near()));
    for (let i = 0; i < ptr.length; i++) ptr[i] = p.rowStart[i]!;
    return new PackedWeight(p.format, p.shape, p.dtype, p.values, p.index, p.quads, p.rowStart, p.nnz, ptr);
  } catch (e) {
    for (const a of held) arenaFree(a);
    if (!(e instanceof ArenaFull)) throw e;
    return packWeight(w, format);
  }
}

/** True when `w`'s data lives in the resident arena. */
export function isResident(w: Weight): boolean {
  if (w instanceof PackedWeight) return arenaOffset(w.values) >= 0;
  return arenaOffset(w.data) >= 0;
}

/** Returns a resident weight's memory to the arena (no-op for a weight that is not resident). */
export function releaseResident(w: Weight): void {
  if (!isResident(w)) return;
  if (w instanceof PackedWeight) {
    for (const a of [w.values, w.index, w.quads, w.rowPtr]) if (a && arenaOffset(a) >= 0) arenaFree(a);
    return;
  }
  arenaFree(w.data);
}

/** Resident copies made by the decode scope, by source array (see `enableResidentDecode`). */
let decodeCopies: Map<ArrayBufferView, Tensor | HalfTensor> | null = null;
/** Weights below this size stay where they are in the decode scope (they mostly sit in the CPU caches). */
const DECODE_MIN_BYTES = 1 << 20;

/**
 * Turns on the decode scope: from now on, a matrix-vector `linear` (at most a few rows) over a large weight that
 * is not resident (e.g. a language-model head, which the load-time weight hook does not see) makes a resident
 * copy of it once and reads that. The scope owns the copies (the source stays where it is: they cost its memory
 * again) until `releaseResidentDecode`. For generation, where the same weights are read for every token.
 */
export function enableResidentDecode(): void {
  decodeCopies ??= new Map();
}

/** Frees every copy of the decode scope and turns it off. */
export function releaseResidentDecode(): void {
  if (!decodeCopies) return;
  for (const w of decodeCopies.values()) releaseResident(w);
  decodeCopies = null;
}

/** The decode scope's resident copy of W (made on first use), or W itself. */
export function decodeWeight<W extends Tensor | HalfTensor>(w: W): W {
  if (!decodeCopies || w.ndim !== 2 || isResident(w)) return w;
  // one weight per source array (a view into a larger buffer stays on the copying path)
  if (w.data.length !== w.size || (w instanceof Tensor && (!w.contiguous || w.offset !== 0))) return w;
  const bytes = w.size * (w instanceof HalfTensor ? 2 : 4);
  if (bytes < DECODE_MIN_BYTES) return w;
  const key = w.data;
  let r = decodeCopies.get(key);
  if (!r) {
    r = makeResident(w) as W;
    if (r === w) return w;
    decodeCopies.set(key, r);
  }
  return r.shape[0] === w.shape[0] && r.shape[1] === w.shape[1] && r.constructor === w.constructor ? (r as W) : w;
}
