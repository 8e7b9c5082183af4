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

/** Allocates a zero-filled Float32Array of `n` elements (shared when possible). */
export function allocF32(n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocF32: invalid length ${n}`);
  if (sharedMemoryAvailable) return new Float32Array(new SharedArrayBuffer(n * 4));
  return new Float32Array(n);
}

/** Allocates a zero-filled Float64Array of `n` elements (shared when possible). */
export function allocF64(n: number): Float64Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocF64: invalid length ${n}`);
  if (sharedMemoryAvailable) return new Float64Array(new SharedArrayBuffer(n * 8));
  return new Float64Array(n);
}

/** True when the array's memory can be seen by workers without a copy. */
export function isShared(a: ArrayBufferView): boolean {
  return sharedMemoryAvailable && a.buffer instanceof SharedArrayBuffer;
}
