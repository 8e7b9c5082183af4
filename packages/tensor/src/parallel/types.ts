/**
 * Types shared by the kernel registry, the worker pool and the kernels themselves.
 * Kernel files import these with `import type` so that no runtime cycle is created.
 */

/** Any typed array a kernel may receive (on SharedArrayBuffer when it runs on the pool). */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A shared WebAssembly memory (the resident arena, wasm/arena.ts): passed to workers by reference. */
export interface SharedWasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** One value in a kernel's argument object: numbers, strings, flags, typed arrays, a shared wasm memory. */
export type KernelArg = number | string | boolean | null | undefined | TypedArray | SharedWasmMemory;

/** A kernel's argument object (a flat record; nested objects are not allowed). */
export type KernelArgs = { readonly [key: string]: KernelArg };

/**
 * A row kernel: processes rows [rowStart, rowEnd) of its problem, reading and writing only through `args`.
 * The same function runs inline on the calling thread or inside a pool worker, so it must not touch
 * module state and every output row must depend only on its own row index (never on the chunk bounds):
 * that is what makes results bit-identical for any thread count.
 * (`never` lets kernels declare their own precise argument type and still fit in the registry.)
 */
export type Kernel = (args: never, rowStart: number, rowEnd: number) => void;
