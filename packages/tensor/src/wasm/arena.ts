/**
 * The resident arena: one shared WebAssembly memory that holds weights for the decode kernels. Every thread's
 * instance of the resident module (resident_runtime.ts) imports this same memory, so a matrix-vector kernel
 * reads W in place instead of block-copying it into its own memory on every call (for a memory-bound product
 * that copy doubled the traffic). wasm32 caps the arena at 4 GiB: an allocation that does not fit returns null
 * and its weight stays on the copying path.
 *
 * Layout: a 64-byte header (int32 [0]: the bump top in 64-byte units, moved with Atomics so that workers can
 * take scratch space), then 64-byte aligned blocks. Weights are allocated and freed by the calling thread only
 * (first fit over a free list, adjacent free blocks merged); each thread's scratch (x rows and outputs of its
 * kernel calls) is bump-allocated once and replaced by one twice as large when too small.
 */
import { inPoolWorker } from '../parallel/context.js';
import { sharedMemoryAvailable } from '../storage.js';
import { type WasmMemory, wasmApi } from './api.js';
import { simdSupported } from './runtime.js';

const PAGE = 65536;
/** wasm32: 65536 pages of 64 KiB = 4 GiB. */
export const ARENA_MAX_PAGES = 65536;
const UNIT = 64;
const HEADER = 64;
/** Bytes past every block that kernels may read (they never use the values). */
const SLACK = 64;

let memory: WasmMemory | null = null;
let tried = false;
/** Every SharedArrayBuffer object this thread has seen for the arena (one per growth). */
const buffers = new WeakSet<ArrayBufferLike>();
let views: { u8: Uint8Array; u16: Uint16Array; i32: Int32Array; f32: Float32Array } | null = null;
/** Free blocks (byte offset, bytes), sorted by offset; live blocks by offset. */
let free: { off: number; bytes: number }[] = [];
const live = new Map<number, number>();
let scratchOff = 0;
let scratchBytes = 0;

/** The arena's memory, created on first use by the calling thread; null where shared wasm memory is unavailable. */
export function arenaMemory(): WasmMemory | null {
  if (memory || tried || inPoolWorker()) return memory;
  tried = true;
  const api = wasmApi();
  if (!sharedMemoryAvailable || !api?.Memory || !simdSupported()) return null;
  try {
    memory = new api.Memory({ initial: 1, maximum: ARENA_MAX_PAGES, shared: true });
  } catch {
    return null;
  }
  Atomics.store(arenaViews().i32, 0, HEADER / UNIT);
  return memory;
}

/** In a pool worker: adopts the caller's arena (kernel arguments carry it). */
export function adoptArena(m: WasmMemory): void {
  if (memory === m) return;
  if (memory) throw new Error('resident arena: a thread can only use one arena');
  memory = m;
}

/** Typed views over the whole arena (re-created after it grew). */
export function arenaViews(): { u8: Uint8Array; u16: Uint16Array; i32: Int32Array; f32: Float32Array } {
  const b = memory!.buffer;
  if (!views || views.u8.buffer !== b) {
    buffers.add(b);
    views = { u8: new Uint8Array(b), u16: new Uint16Array(b), i32: new Int32Array(b), f32: new Float32Array(b) };
  }
  return views;
}

/** Byte offset of `a`'s first element in the arena, or -1 when `a` does not live there. */
export function arenaOffset(a: ArrayBufferView): number {
  return memory && buffers.has(a.buffer) ? a.byteOffset : -1;
}

/** Makes the memory at least `end` bytes long; false when that exceeds 4 GiB or the runtime refuses. */
function growTo(end: number): boolean {
  const m = memory!;
  while (m.buffer.byteLength < end) {
    const pages = Math.ceil((end - m.buffer.byteLength) / PAGE);
    if (m.buffer.byteLength / PAGE + pages > ARENA_MAX_PAGES) return false;
    try {
      m.grow(pages);
    } catch {
      return false;
    }
  }
  return true;
}

/** Takes `bytes` (a multiple of UNIT) from the top; -1 when the arena cannot grow that far. */
function bump(bytes: number): number {
  const hdr = arenaViews().i32;
  const off = Atomics.add(hdr, 0, bytes / UNIT) * UNIT;
  return growTo(off + bytes) ? off : -1;
}

/** Allocates `bytes` (+ slack) for a resident array; -1 when it does not fit. Calling thread only. */
function reserve(bytes: number): number {
  if (!arenaMemory()) return -1;
  const need = Math.ceil((bytes + SLACK) / UNIT) * UNIT;
  const i = free.findIndex((f) => f.bytes >= need);
  let off: number;
  if (i >= 0) {
    const f = free[i]!;
    off = f.off;
    if (f.bytes === need) free.splice(i, 1);
    else free[i] = { off: f.off + need, bytes: f.bytes - need };
  } else {
    off = bump(need);
    if (off < 0) return -1;
  }
  live.set(off, need);
  return off;
}

type Typed = Float32Array | Uint16Array | Uint8Array | Int32Array;
type Ctor<T> = new (b: ArrayBufferLike, off: number, len: number) => T;

/** A zero-filled array of `len` elements in the arena, or null when it does not fit. */
export function arenaAlloc<T extends Typed>(ctor: Ctor<T> & { BYTES_PER_ELEMENT: number }, len: number): T | null {
  const off = reserve(len * ctor.BYTES_PER_ELEMENT);
  if (off < 0) return null;
  const out = new ctor(arenaViews().u8.buffer, off, len);
  out.fill(0 as never);
  return out;
}

/** A copy of `src` in the arena (same type), or null when it does not fit. */
export function arenaCopy<T extends Typed>(src: T): T | null {
  const off = reserve(src.byteLength);
  if (off < 0) return null;
  const out = new (src.constructor as Ctor<T>)(arenaViews().u8.buffer, off, src.length);
  out.set(src as never);
  return out;
}

/** Returns the block of `a` (from `arenaCopy`) to the free list. */
export function arenaFree(a: ArrayBufferView): void {
  const off = arenaOffset(a);
  const bytes = live.get(off);
  if (bytes === undefined) throw new Error('arenaFree: the array was not allocated in the resident arena');
  live.delete(off);
  free.push({ off, bytes });
  free.sort((x, y) => x.off - y.off);
  const merged: { off: number; bytes: number }[] = [];
  for (const f of free) {
    const last = merged[merged.length - 1];
    if (last && last.off + last.bytes === f.off) last.bytes += f.bytes;
    else merged.push({ ...f });
  }
  free = merged;
}

/** Bytes held by live resident arrays (diagnostics and tests). */
export function arenaLiveBytes(): number {
  let s = 0;
  for (const b of live.values()) s += b;
  return s;
}

/** This thread's scratch region of at least `bytes` (byte offset); throws when the arena is full. */
export function arenaScratch(bytes: number): number {
  if (bytes > scratchBytes) {
    const n = Math.ceil(Math.max(bytes, 2 * scratchBytes, 1 << 20) / UNIT) * UNIT;
    const off = bump(n);
    if (off < 0) throw new Error(`resident arena: no room for ${n} bytes of kernel scratch (4 GiB limit)`);
    scratchOff = off;
    scratchBytes = n;
  }
  return scratchOff;
}
