/**
 * The slice of the WebAssembly JS API the engine uses, typed locally (the project compiles without the DOM
 * lib) and looked up on `globalThis` so that a runtime without WebAssembly simply reports "unavailable".
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown, imports?: Record<string, unknown>) => WasmInstance;
  Memory?: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

/** The runtime's WebAssembly object, or null. */
export function wasmApi(): WasmApi | null {
  const w = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return w && typeof w.validate === 'function' ? w : null;
}

/** Compiles and instantiates `bytes` synchronously (fine for the engine's small modules). */
export function instantiateSync(bytes: Uint8Array, imports: Record<string, unknown> = {}): WasmInstance {
  const w = wasmApi();
  if (!w) throw new Error('WebAssembly is not available in this runtime');
  return new w.Instance(new w.Module(bytes), imports);
}
