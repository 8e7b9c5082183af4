/**
 * Float32 storage. Buffers are allocated on a SharedArrayBuffer when the runtime allows it, so that the
 * worker pool can read and write them without copies; otherwise on a plain ArrayBuffer.
 */
export const sharedMemoryAvailable: boolean = (() => {
  try {
    // In browsers SharedArrayBuffer exists only under cross-origin isolation.
    return typeof SharedArrayBuffer === 'function' && new SharedArrayBuffer(8).byteLength === 8;
  } catch {
    return false;
  }
})();

/*
 * Who owns a buffer (see docs of `Arena` and `persistent`):
 * - an open `Arena` scope: the arena lends it until its `reset`; after the first block of a pass every request
 *   is served from the arena's free lists, so a pass over many blocks allocates nothing new;
 * - a `persistent` scope: a long-lived cache that reuses its buffers itself (a model's workspace, the weight
 *   store's 16-bit buffers, rope tables, a KV cache);
 * - neither: the caller (arbitrary user code calling ops). Only these "unowned" bytes, and arena buffers given
 *   up by `dispose` beyond the recycler's cap, depend on the garbage collector.
 *
 * Node 20's V8 does not count SharedArrayBuffer backing stores towards garbage-collection pressure: a loop that
 * drops 50 MB shared tensors grows the process by 50 MB per iteration until the OS kills it. So a backstop
 * remains for unowned memory only: after every `sharedGcBytes` of it, a full collection where the runtime lets us
 * (Node; browsers reclaim on their own schedule). It is counted in `storageStats().forcedGcs`; pruning and
 * evaluation own all their memory and never trigger it (tests check that).
 */
let sharedGcBytes = 1 << 30;
let unownedSinceGc = 0;
let gcFn: (() => void) | null | undefined;

function resolveGc(): (() => void) | null {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const v8 = proc?.getBuiltinModule?.('v8') as { setFlagsFromString(f: string): void } | undefined;
    const vm = proc?.getBuiltinModule?.('vm') as { runInNewContext(code: string): unknown } | undefined;
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') return existing;
    if (!v8 || !vm) return null;
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc');
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  }
}

/** Monotonic counters of the storage allocators (see `storageStats`). */
const stats = { sharedBytesAllocated: 0, buffersAllocated: 0, bytesReused: 0, unownedBytes: 0, forcedGcs: 0 };

/** Counters of the storage allocators since the process started; every field only grows. */
export interface StorageStats {
  /** Bytes of new buffers (shared when available, else plain): what the work really allocated. */
  sharedBytesAllocated: number;
  /** New buffers. */
  buffersAllocated: number;
  /** Bytes served again from an arena's free lists or the recycler (no new memory). */
  bytesReused: number;
  /** Bytes whose reclamation is left to the garbage collector (unowned allocations, recycler overflow). */
  unownedBytes: number;
  /** Full collections forced by the backstop. */
  forcedGcs: number;
}

/**
 * Counts of every allocation made through `allocF32`/`allocF64`/`allocU16` since the process started. All only
 * grow, so the difference across a piece of work is what that work allocated, independent of the garbage collector.
 */
export function storageStats(): StorageStats {
  return { ...stats };
}

/** Counts `bytes` whose reclamation depends on the garbage collector; forces a collection past the threshold. */
function unowned(bytes: number): void {
  stats.unownedBytes += bytes;
  if (!sharedMemoryAvailable) return; // plain ArrayBuffers count as GC pressure by themselves
  unownedSinceGc += bytes;
  if (unownedSinceGc > sharedGcBytes) {
    unownedSinceGc = 0;
    if (gcFn === undefined) gcFn = resolveGc();
    if (gcFn) {
      stats.forcedGcs += 1;
      gcFn();
    }
  }
}

/** Sets how many bytes of unowned shared allocations trigger a full garbage collection (default 1 GiB). */
export function setSharedGcThreshold(bytes: number): void {
  if (!(bytes > 0)) throw new RangeError(`setSharedGcThreshold: invalid byte count ${bytes}`);
  sharedGcBytes = bytes;
}

type Raw = ArrayBuffer | SharedArrayBuffer;

function newRaw(bytes: number): Raw {
  stats.sharedBytesAllocated += bytes;
  stats.buffersAllocated += 1;
  return sharedMemoryAvailable ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * The byte size an arena allocates for a request of `bytes`: rounded up to a size class (64-byte steps up to 256
 * bytes, then four classes per power of two: at most 25% above the request). Requests that grow step by step (a
 * decode step's scores over one more key, documents of different lengths) then find a free buffer again instead of
 * each size leaving a buffer of its own in the arena.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.ceil(bytes / 64) * 64;
  const step = 2 ** (Math.floor(Math.log2(bytes - 1)) - 2);
  return Math.ceil(bytes / step) * step;
}

/**
 * Zeroes the first `bytes` of `b` (a size class, so a multiple of 64 bytes), eight bytes at a time: V8 fills a
 * Uint8Array over a SharedArrayBuffer byte by byte (12 KB: 4 µs, 8x a Float64Array fill), and every buffer an arena
 * lends again is zeroed here.
 */
function zeroFill(b: Raw, bytes: number): void {
  new Float64Array(b, 0, Math.ceil(bytes / 8)).fill(0);
}

/** Free lists of raw buffers keyed by byte size; a request takes the smallest free buffer in a size range. */
class FreeLists {
  private readonly lists = new Map<number, Raw[]>();
  /** The keys of `lists`, ascending. */
  private readonly sizes: number[] = [];
  bytes = 0;

  /** The smallest free buffer of `min` to `max` bytes (best fit), if any. */
  take(min: number, max = min): Raw | undefined {
    const { sizes } = this;
    let lo = 0;
    let hi = sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sizes[mid]! < min) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < sizes.length && sizes[k]! <= max; k++) {
      const b = this.lists.get(sizes[k]!)!.pop();
      if (b) {
        this.bytes -= b.byteLength;
        return b;
      }
    }
    return undefined;
  }

  put(b: Raw): void {
    const list = this.lists.get(b.byteLength);
    if (list) list.push(b);
    else {
      this.lists.set(b.byteLength, [b]);
      let k = this.sizes.length;
      while (k > 0 && this.sizes[k - 1]! > b.byteLength) k--;
      this.sizes.splice(k, 0, b.byteLength);
    }
    this.bytes += b.byteLength;
  }

  /** Removes and returns every buffer. */
  drain(): Raw[] {
    const all = [...this.lists.values()].flat();
    this.lists.clear();
    this.sizes.length = 0;
    this.bytes = 0;
    return all;
  }
}

/** Buffers of disposed arenas, for the next arena (same shapes, e.g. the next run of a sweep); capped. */
const recycler = new FreeLists();
let recyclerCap = 256 * 2 ** 20;

/** Sets the bytes the recycler of disposed arenas keeps (default 256 MiB; beyond it, buffers go to the GC). */
export function setRecyclerCap(bytes: number): void {
  if (!(bytes >= 0)) throw new RangeError(`setRecyclerCap: invalid byte count ${bytes}`);
  recyclerCap = bytes;
  if (recycler.bytes <= bytes) return;
  for (const b of recycler.drain()) {
    if (recycler.bytes + b.byteLength <= bytes) recycler.put(b);
    else unowned(b.byteLength);
  }
}

const PERSISTENT = Symbol('persistent');
/** Open scopes, innermost last. */
const scopes: (Arena | typeof PERSISTENT)[] = [];

/**
 * An owner of buffers with a lifetime: while `use(fn)` runs, every allocation of this module (`allocF32`, hence
 * `Tensor.zeros`, every op's fresh output, ...) is lent by the arena; `reset()` takes them all back at once and
 * serves the next requests of the same byte sizes from them (zero-filled again). A pass whose rounds ask for the
 * same sizes (every block of a model has the same shapes) allocates new memory only in its first round.
 *
 * The owner guarantees that nothing lent is used after `reset` (the pruning driver resets its block arena after
 * the sink took the block and the block was dropped). Long-lived caches filled from inside a scope (a model's
 * workspace, the weight store's reads, rope tables) allocate under `persistent` instead. `reset` throws while the
 * arena is open, so a nested use of the same arena cannot free its caller's buffers.
 */
export class Arena {
  private readonly free = new FreeLists();
  private lent: Raw[] = [];
  private lentBytes = 0;
  private open = 0;
  /** Bumped by every `reset`: a buffer lent in generation g is valid while `generation === g`. */
  generation = 0;

  /** Runs `fn` with this arena as the owner of its allocations (nested scopes: the innermost owns). */
  use<T>(fn: () => T): T {
    scopes.push(this);
    this.open++;
    try {
      return fn();
    } finally {
      this.open--;
      scopes.pop();
    }
  }

  /**
   * @internal Lends a buffer of at least `bytes` whose first `bytes` are zero: the smallest free one of at least
   * the request's size class (best fit), else a new one of the size class. Best fit serves any round of requests
   * that a set of free buffers dominates (sorted sizes pointwise no larger) without allocating, in any order.
   */
  take(bytes: number): Raw {
    const cls = sizeClass(bytes);
    let b = this.free.take(cls, Number.POSITIVE_INFINITY) ?? recycler.take(cls, Number.POSITIVE_INFINITY);
    if (b) {
      stats.bytesReused += bytes;
      zeroFill(b, bytes);
    } else b = newRaw(cls);
    this.lent.push(b);
    this.lentBytes += b.byteLength;
    return b;
  }

  /** Takes back every buffer lent since the last reset; they serve the next requests. */
  reset(): void {
    if (this.open > 0) throw new RangeError('Arena.reset: the arena is in use (reset it after its scope ends)');
    for (const b of this.lent) this.free.put(b);
    this.generation++;
    this.lent = [];
    this.lentBytes = 0;
  }

  /** Resets and gives every buffer to the recycler (up to its cap; the rest is left to the GC). */
  dispose(): void {
    this.reset();
    for (const b of this.free.drain()) {
      if (recycler.bytes + b.byteLength <= recyclerCap) recycler.put(b);
      else unowned(b.byteLength);
    }
  }

  /** Bytes the arena holds: lent and free. */
  get bytes(): number {
    return this.lentBytes + this.free.bytes;
  }
}

/**
 * Runs `fn` with its allocations owned by long-lived caches of the caller (not by any open arena): for buffers
 * that outlive the current arena scope and are reused by their owner (workspaces, weight buffers, tables).
 */
export function persistent<T>(fn: () => T): T {
  scopes.push(PERSISTENT);
  try {
    return fn();
  } finally {
    scopes.pop();
  }
}

/** The arena that owns allocations made now (the innermost scope), or null (a persistent scope, or none). */
export function currentArena(): Arena | null {
  const top = scopes[scopes.length - 1];
  return top instanceof Arena ? top : null;
}

/** A zero-filled raw buffer of `bytes` from the innermost owner (an arena, a persistent cache, or the caller). */
function buffer(bytes: number): Raw {
  const top = scopes[scopes.length - 1];
  if (top instanceof Arena) return top.take(bytes);
  const b = newRaw(bytes);
  if (top !== PERSISTENT) unowned(bytes);
  return b;
}

/** Allocates a zero-filled Float32Array of `n` elements (shared when possible). */
export function allocF32(n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocF32: invalid length ${n}`);
  return new Float32Array(buffer(n * 4), 0, n);
}

/** Allocates a zero-filled Float64Array of `n` elements (shared when possible). */
export function allocF64(n: number): Float64Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocF64: invalid length ${n}`);
  return new Float64Array(buffer(n * 8), 0, n);
}

/** Allocates a zero-filled Uint16Array of `n` elements (shared when possible): 16-bit weights (HalfTensor). */
export function allocU16(n: number): Uint16Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocU16: invalid length ${n}`);
  return new Uint16Array(buffer(n * 2), 0, n);
}

/** True when the array's memory can be seen by workers without a copy. */
export function isShared(a: ArrayBufferView): boolean {
  return sharedMemoryAvailable && a.buffer instanceof SharedArrayBuffer;
}
