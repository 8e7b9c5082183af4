/**
 * Argument handling for parallelFor: validation, shared-memory copies of plain typed arrays, and turning a
 * worker's error report back into an Error.
 */
import { TensorError } from '../errors.js';
import type { WorkerError } from './protocol.js';

type Ctor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

/** A WebAssembly.Memory created with `shared: true`. */
export function isSharedWasmMemory(v: unknown): boolean {
  const M = (globalThis as { WebAssembly?: { Memory?: abstract new (...a: never[]) => { buffer: unknown } } })
    .WebAssembly?.Memory;
  return !!M && v instanceof M && v.buffer instanceof SharedArrayBuffer;
}

/**
 * Validates the argument object; returns a version whose typed arrays all live on shared memory (`copied`: some
 * are fresh shared copies of plain buffers, for this call only).
 */
export function shareArgs(
  name: string,
  args: Record<string, unknown>,
  share: boolean,
): { args: Record<string, unknown>; copyBack: () => void; copied: boolean } {
  let plain: Map<ArrayBufferLike, { lo: number; hi: number }> | null = null;
  for (const key of Object.keys(args)) {
    const v = args[key];
    const t = typeof v;
    if (v === null || v === undefined || t === 'number' || t === 'string' || t === 'boolean') continue;
    if (isSharedWasmMemory(v)) continue; // posted by reference, like a SharedArrayBuffer
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      if (!share || v.buffer instanceof SharedArrayBuffer) continue;
      plain ??= new Map();
      const span = plain.get(v.buffer);
      const lo = v.byteOffset - (v.byteOffset % 8); // keep every view's offset a multiple of its element size
      const hi = v.byteOffset + v.byteLength;
      if (span) {
        span.lo = Math.min(span.lo, lo);
        span.hi = Math.max(span.hi, hi);
      } else plain.set(v.buffer, { lo, hi });
      continue;
    }
    const what = Array.isArray(v) ? 'an array' : t === 'object' ? ((v as object).constructor?.name ?? 'an object') : t;
    throw new TensorError(
      `parallelFor(${name}): argument '${key}' is ${what}; kernels take numbers, strings, booleans, typed arrays and shared wasm memories`,
    );
  }
  if (!plain) return { args, copyBack: noop, copied: false };
  const copies = new Map<ArrayBufferLike, { lo: number; hi: number; shared: SharedArrayBuffer }>();
  for (const [buf, { lo, hi }] of plain) {
    const shared = new SharedArrayBuffer(hi - lo);
    new Uint8Array(shared).set(new Uint8Array(buf, lo, hi - lo));
    copies.set(buf, { lo, hi, shared });
  }
  const out: Record<string, unknown> = { ...args };
  for (const key of Object.keys(args)) {
    const v = args[key];
    if (!ArrayBuffer.isView(v)) continue;
    const c = copies.get(v.buffer);
    if (!c) continue;
    const n = v.byteLength / (v as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    out[key] = new (v.constructor as Ctor)(c.shared, v.byteOffset - c.lo, n);
  }
  const copyBack = () => {
    for (const [buf, c] of copies) new Uint8Array(buf, c.lo, c.hi - c.lo).set(new Uint8Array(c.shared));
  };
  return { args: out, copyBack, copied: true };
}

const noop = () => {};

export function rebuildError(e: WorkerError | undefined, name: string): Error {
  const err =
    e?.name === 'TensorError'
      ? new TensorError(e.message ?? '')
      : new Error(e?.message ?? `parallelFor(${name}): a worker failed`);
  if (e?.name && err.name !== e.name) err.name = e.name;
  if (e?.stack) err.stack = e.stack;
  return err;
}
