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
 * Node 20's V8 does not count SharedArrayBuffer backing stores towards garbage-collection pressure: a loop that
 * drops 50 MB shared tensors grows the process by 50 MB per iteration until the OS kills it (measured: 10 GB
 * resident for 10 GB allocated, against 250 MB with plain ArrayBuffers). So after every `sharedGcBytes` of shared
 * allocations we ask for a full collection, where the runtime lets us (Node; browsers have no such hook and
 * reclaim shared memory on their own schedule).
 *
 * This is a backstop, not how memory is bounded: the forward pass and evaluation own their buffers (a per-model
 * workspace, in-place hidden states, caller-owned logits) and allocate O(1) per block and window, so in steady
 * state they never reach the threshold (tests count it with `storageStats`). It remains for memory whose owner
 * drops it without reuse: a block's weights read lazily and released by `releaseBlock` (block-mode evaluation,
 * the pruning driver), which Node 20 would otherwise keep resident for the whole run.
 */
let sharedGcBytes = 1 << 30;
let sharedSinceGc = 0;
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

/** Monotonic allocation counters of the storage allocators (see `storageStats`). */
const stats = { sharedBytesAllocated: 0, buffersAllocated: 0 };

/**
 * Counts of every allocation made through `allocF32`/`allocF64` (and any other allocator of this module) since the
 * process started: bytes and buffers, on shared memory when available, else on plain memory. Both only grow, so
 * the difference across a piece of work is what that work allocated, independent of the garbage collector.
 */
export function storageStats(): { sharedBytesAllocated: number; buffersAllocated: number } {
  return { sharedBytesAllocated: stats.sharedBytesAllocated, buffersAllocated: stats.buffersAllocated };
}

/** Counts one allocation of `bytes` in `storageStats`. */
function count(bytes: number): void {
  stats.sharedBytesAllocated += bytes;
  stats.buffersAllocated += 1;
}

function sharedBuffer(bytes: number): SharedArrayBuffer {
  sharedSinceGc += bytes;
  if (sharedSinceGc > sharedGcBytes) {
    sharedSinceGc = 0;
    if (gcFn === undefined) gcFn = resolveGc();
    gcFn?.();
  }
  return new SharedArrayBuffer(bytes);
}

/** Sets how many bytes of shared allocations trigger a full garbage collection (default 1 GiB). */
export function setSharedGcThreshold(bytes: number): void {
  if (!(bytes > 0)) throw new RangeError(`setSharedGcThreshold: invalid byte count ${bytes}`);
  sharedGcBytes = bytes;
}

/** Allocates a zero-filled Float32Array of `n` elements (shared when possible). */
export function allocF32(n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocF32: invalid length ${n}`);
  count(n * 4);
  if (sharedMemoryAvailable) return new Float32Array(sharedBuffer(n * 4));
  return new Float32Array(n);
}

/** Allocates a zero-filled Float64Array of `n` elements (shared when possible). */
export function allocF64(n: number): Float64Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocF64: invalid length ${n}`);
  count(n * 8);
  if (sharedMemoryAvailable) return new Float64Array(sharedBuffer(n * 8));
  return new Float64Array(n);
}

/** Allocates a zero-filled Uint16Array of `n` elements (shared when possible): 16-bit weights (HalfTensor). */
export function allocU16(n: number): Uint16Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocU16: invalid length ${n}`);
  count(n * 2);
  if (sharedMemoryAvailable) return new Uint16Array(sharedBuffer(n * 2));
  return new Uint16Array(n);
}

/** True when the array's memory can be seen by workers without a copy. */
export function isShared(a: ArrayBufferView): boolean {
  return sharedMemoryAvailable && a.buffer instanceof SharedArrayBuffer;
}
