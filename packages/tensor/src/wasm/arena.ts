/**
 * The resident arenas: shared WebAssembly memories that hold weights for the decode kernels. Every thread's
 * instance of the resident module (resident_runtime.ts) imports the arena it works on, so a matrix-vector kernel
 * reads W in place instead of block-copying it into its own memory on every call (for a memory-bound product
 * that copy doubled the traffic). wasm32 caps one memory at 4 GiB, so a model larger than that (a 7B model holds
 * 13.5 GB of 16-bit weights) spreads over several arenas, opened one after the other as they fill; a kernel call
 * reads one weight, which lives in one arena, and runs the instance made over that arena. An allocation that
 * fits nowhere (the runtime refuses more memory, or MAX_ARENAS are full) returns null and its weight stays on the
 * copying path.
 *
 * Layout of each arena: a 64-byte header (int32 [0]: the bump top in 64-byte units, moved with Atomics so that
 * workers can take scratch space; int32 [1]: the arena's id), then 64-byte aligned blocks. Weights are allocated
 * and freed by the calling thread only (first fit over the arenas' free lists, adjacent free blocks merged); each
 * thread's scratch in an arena (x rows and outputs of its kernel calls) is bump-allocated once and replaced by one
 * twice as large when too small. Weights leave SCRATCH_ROOM free at the top of an arena for that scratch.
 *
 * A pool worker gets an arena as a WebAssembly.Memory in its kernel arguments, and every time the caller registers
 * it again (a new worker joined, or the job registry was reset: parallel/jobs.ts) the worker receives a new Memory
 * object over the same memory. The worker recognises it by the id in its header and keeps one state (scratch) and
 * one instance per arena: keyed by the Memory object, each re-registration took another scratch region from the
 * arena's top and compiled another instance, until the scratch room ran out ("no room for ... kernel scratch").
 */
import { inPoolWorker } from '../parallel/context.js';
import { sharedMemoryAvailable } from '../storage.js';
import { type WasmMemory, wasmApi } from './api.js';
import { simdSupported } from './runtime.js';

const PAGE = 65536;
/** wasm32: 65536 pages of 64 KiB = 4 GiB per arena. */
export const ARENA_MAX_PAGES = 65536;
/** At most this many arenas (64 GiB of resident weights). */
export const MAX_ARENAS = 16;
const UNIT = 64;
const HEADER = 64;
/** Header int32 index of the arena's id: 1, 2, ... in the order the calling thread opened them. */
const ID_WORD = 1;
/** Bytes past every block that kernels may read (they never use the values). */
const SLACK = 64;

type Views = { u8: Uint8Array; u16: Uint16Array; i32: Int32Array; f32: Float32Array };

/** One arena as this thread sees it. */
interface ArenaState {
  /** The first Memory object this thread saw for the arena (the one its instances are made over). */
  readonly memory: WasmMemory;
  /** The id in the arena's header (0: a memory not opened by openArena). */
  readonly id: number;
  views: Views | null;
  /** Free blocks (byte offset, bytes), sorted by offset; live blocks by offset (allocating thread only). */
  free: { off: number; bytes: number }[];
  readonly live: Map<number, number>;
  /** This thread's scratch region. */
  scratchOff: number;
  scratchBytes: number;
}

/** This thread's arenas: on the allocating thread in the order they were opened (the first is the primary). */
const arenas: ArenaState[] = [];
/** Every SharedArrayBuffer object this thread has seen for an arena (one per growth), with its arena. */
const byBuffer = new WeakMap<ArrayBufferLike, ArenaState>();
/** Every Memory object this thread has seen for an arena (a worker gets one per registration), with its arena. */
const byMemory = new WeakMap<WasmMemory, ArenaState>();
let tried = false;
/** Pages one arena may grow to (ARENA_MAX_PAGES; tests lower it to exercise several arenas). */
let capPages = ARENA_MAX_PAGES;

/** Bytes kept free at the top of every arena for the threads' kernel scratch. */
function scratchRoom(): number {
  return Math.min(64 * 2 ** 20, (capPages * PAGE) / 8); // (no bit shifts: 4 GiB exceeds int32)
}

/** @internal The bytes of an arena that weights may fill (the rest stays for the threads' kernel scratch). */
export function arenaWeightLimit(): number {
  return capPages * PAGE - scratchRoom();
}

function track(m: WasmMemory, id: number): ArenaState {
  const st: ArenaState = { memory: m, id, views: null, free: [], live: new Map(), scratchOff: 0, scratchBytes: 0 };
  arenas.push(st);
  byMemory.set(m, st);
  return st;
}

/** Opens one more arena (calling thread); null where the runtime refuses or MAX_ARENAS are open. */
function openArena(): ArenaState | null {
  const api = wasmApi();
  if (arenas.length >= MAX_ARENAS || !sharedMemoryAvailable || !api?.Memory || !simdSupported()) return null;
  let m: WasmMemory;
  try {
    m = new api.Memory({ initial: 1, maximum: ARENA_MAX_PAGES, shared: true });
  } catch {
    return null;
  }
  const st = track(m, arenas.length + 1);
  Atomics.store(viewsOf(st).i32, ID_WORD, st.id);
  Atomics.store(viewsOf(st).i32, 0, HEADER / UNIT);
  return st;
}

/** The primary arena's memory, created on first use by the calling thread; null where shared wasm memory is unavailable. */
export function arenaMemory(): WasmMemory | null {
  if (arenas.length > 0 || tried || inPoolWorker()) return arenas[0]?.memory ?? null;
  tried = true;
  return openArena()?.memory ?? null;
}

/** The memory of the arena that holds `a`, or null when `a` does not live in one. */
export function arenaOf(a: ArrayBufferView): WasmMemory | null {
  return byBuffer.get(a.buffer)?.memory ?? null;
}

/** Arenas this thread knows (diagnostics and tests). */
export function arenaCount(): number {
  return arenas.length;
}

/** This thread's state of arena `m` (a pool worker adopts an arena before using it). */
function stateOf(m: WasmMemory | null | undefined): ArenaState {
  if (!m) throw new Error('resident arena: no arena given (a kernel passes the arena of its weight)');
  const st = byMemory.get(m);
  if (st) return st;
  throw new Error('resident arena: unknown memory (a pool worker adopts an arena before using it)');
}

/**
 * In a pool worker: adopts an arena of the caller (kernel arguments carry it). Returns the Memory object this
 * thread keeps for that arena: `m` itself the first time, else the one first seen (key per-arena caches by it).
 */
export function adoptArena(m: WasmMemory): WasmMemory {
  const known = byMemory.get(m);
  if (known) return known.memory;
  const id = m.buffer.byteLength >= HEADER ? Atomics.load(new Int32Array(m.buffer, 0, 2), ID_WORD) : 0;
  const same = id > 0 ? arenas.find((st) => st.id === id) : undefined;
  if (!same) return track(m, id).memory;
  byMemory.set(m, same);
  return same.memory;
}

/** @internal Tests: the byte offset of arena `mem`'s bump top (weights and every thread's scratch lie below). */
export function arenaTop(mem: WasmMemory): number {
  return Atomics.load(viewsOf(stateOf(mem)).i32, 0) * UNIT;
}

function viewsOf(st: ArenaState): Views {
  const b = st.memory.buffer;
  if (!st.views || st.views.u8.buffer !== b) {
    byBuffer.set(b, st);
    st.views = { u8: new Uint8Array(b), u16: new Uint16Array(b), i32: new Int32Array(b), f32: new Float32Array(b) };
  }
  return st.views;
}

/** Typed views over the whole arena `mem` (re-created after it grew). */
export function arenaViews(mem: WasmMemory | null | undefined): Views {
  return viewsOf(stateOf(mem));
}

/** Byte offset of `a`'s first element in its arena, or -1 when `a` does not live in one. */
export function arenaOffset(a: ArrayBufferView): number {
  return byBuffer.has(a.buffer) ? a.byteOffset : -1;
}

/** Makes the memory at least `end` bytes long; false when that exceeds the cap or the runtime refuses. */
function growTo(st: ArenaState, end: number): boolean {
  const m = st.memory;
  while (m.buffer.byteLength < end) {
    const pages = Math.ceil((end - m.buffer.byteLength) / PAGE);
    if (m.buffer.byteLength / PAGE + pages > capPages) return false;
    try {
      m.grow(pages);
    } catch {
      return false;
    }
  }
  return true;
}

/** Takes `bytes` (a multiple of UNIT) from the top; -1 when the arena cannot grow that far. */
function bump(st: ArenaState, bytes: number): number {
  const hdr = viewsOf(st).i32;
  const off = Atomics.add(hdr, 0, bytes / UNIT) * UNIT;
  return growTo(st, off + bytes) ? off : -1;
}

/**
 * Takes `need` bytes for a weight in `st` (its free list, else its top below the scratch room); -1 if no room.
 * `fresh`: taken from the top (memory never written: zero).
 */
function reserveIn(st: ArenaState, need: number): { off: number; fresh: boolean } {
  const i = st.free.findIndex((f) => f.bytes >= need);
  let off: number;
  if (i >= 0) {
    const f = st.free[i]!;
    off = f.off;
    if (f.bytes === need) st.free.splice(i, 1);
    else st.free[i] = { off: f.off + need, bytes: f.bytes - need };
  } else {
    const top = Atomics.load(viewsOf(st).i32, 0) * UNIT;
    if (top + need > arenaWeightLimit()) return { off: -1, fresh: false };
    off = bump(st, need);
    if (off < 0) return { off: -1, fresh: false };
  }
  st.live.set(off, need);
  return { off, fresh: i < 0 };
}

/**
 * Allocates `bytes` (+ slack) for a resident array: in `near`'s arena when given, else in the first arena with
 * room (opening one more when none has); null when it does not fit. Calling thread only.
 */
function reserve(bytes: number, near?: ArrayBufferView): { st: ArenaState; off: number; fresh: boolean } | null {
  if (!arenaMemory()) return null;
  const need = Math.ceil((bytes + SLACK) / UNIT) * UNIT;
  if (near) {
    const st = byBuffer.get(near.buffer);
    const r = st ? reserveIn(st, need) : null;
    return r && r.off >= 0 ? { st: st!, ...r } : null;
  }
  for (const st of arenas) {
    const r = reserveIn(st, need);
    if (r.off >= 0) return { st, ...r };
  }
  const st = need <= arenaWeightLimit() - HEADER ? openArena() : null;
  const r = st ? reserveIn(st, need) : null;
  return r && r.off >= 0 ? { st: st!, ...r } : null;
}

type Typed = Float32Array | Uint16Array | Uint8Array | Int32Array;
type Ctor<T> = new (b: ArrayBufferLike, off: number, len: number) => T;

/**
 * An array of `len` elements in an arena (in `near`'s when given: arrays that one kernel call reads together must
 * share an arena), or null when it does not fit. Zero-filled unless `zero` is false (then its contents are
 * unspecified); memory taken from an arena's top is zero already and is not written here (its pages are first
 * touched by whoever fills the array).
 */
export function arenaAlloc<T extends Typed>(
  ctor: Ctor<T> & { BYTES_PER_ELEMENT: number },
  len: number,
  near?: ArrayBufferView,
  zero = true,
): T | null {
  const r = reserve(len * ctor.BYTES_PER_ELEMENT, near);
  if (!r) return null;
  const out = new ctor(viewsOf(r.st).u8.buffer, r.off, len);
  if (zero && !r.fresh) out.fill(0 as never);
  return out;
}

/** A copy of `src` in an arena (same type; in `near`'s when given), or null when it does not fit. */
export function arenaCopy<T extends Typed>(src: T, near?: ArrayBufferView): T | null {
  const r = reserve(src.byteLength, near);
  if (!r) return null;
  const out = new (src.constructor as Ctor<T>)(viewsOf(r.st).u8.buffer, r.off, src.length);
  out.set(src as never);
  return out;
}

/** Returns the block of `a` (from `arenaAlloc` / `arenaCopy`) to its arena's free list. */
export function arenaFree(a: ArrayBufferView): void {
  const st = byBuffer.get(a.buffer);
  const off = a.byteOffset;
  const bytes = st?.live.get(off);
  if (!st || bytes === undefined) throw new Error('arenaFree: the array was not allocated in a resident arena');
  st.live.delete(off);
  st.free.push({ off, bytes });
  st.free.sort((x, y) => x.off - y.off);
  const merged: { off: number; bytes: number }[] = [];
  for (const f of st.free) {
    const last = merged[merged.length - 1];
    if (last && last.off + last.bytes === f.off) last.bytes += f.bytes;
    else merged.push({ ...f });
  }
  st.free = merged;
}

/** Bytes held by live resident arrays, over every arena (diagnostics and tests). */
export function arenaLiveBytes(): number {
  let s = 0;
  for (const st of arenas) for (const b of st.live.values()) s += b;
  return s;
}

/** This thread's scratch region in arena `mem` of at least `bytes` (byte offset). */
export function arenaScratch(bytes: number, mem: WasmMemory | null | undefined): number {
  const st = stateOf(mem);
  if (bytes > st.scratchBytes) {
    const n = Math.ceil(Math.max(bytes, 2 * st.scratchBytes, 1 << 20) / UNIT) * UNIT;
    const off = bump(st, n);
    if (off < 0) throw new Error(`resident arena: no room for ${n} bytes of kernel scratch (4 GiB limit)`);
    st.scratchOff = off;
    st.scratchBytes = n;
  }
  return st.scratchOff;
}

/**
 * @internal Tests: caps every arena at `pages` pages of 64 KiB (ARENA_MAX_PAGES when absent), so that a few
 * MB of weights spread over several arenas. Only before any arena exists.
 */
export function setArenaCapForTests(pages?: number): void {
  if (arenas.length > 0) throw new Error('setArenaCapForTests: an arena already exists');
  capPages = pages ?? ARENA_MAX_PAGES;
}
