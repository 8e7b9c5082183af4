import { instantiateSync, type WasmMemory } from './api.js';
import { buildLinalgModule } from './linalg_module.js';
import { simdSupported } from './runtime.js';

const PAGE = 65536;

/** One thread's instance of the float32 linalg module (see linalg_module.ts) and views of its memory. */
export class LinalgWasm {
  readonly gemm: (
    ap: number,
    lda: number,
    bp: number,
    ldb: number,
    cp: number,
    ldc: number,
    mPanels: number,
    nPanels: number,
    k: number,
    load: number,
  ) => void;
  readonly sweep: (
    wp: number,
    ldw: number,
    up: number,
    ldu: number,
    dp: number,
    ep: number,
    lde: number,
    mp: number,
    ldm: number,
    rows: number,
    c0: number,
    c1: number,
    kEnd: number,
  ) => void;
  private readonly memory: WasmMemory;
  private fview: Float32Array;
  private bview: Uint8Array;

  constructor(bytes: number) {
    const inst = instantiateSync(buildLinalgModule(Math.ceil(bytes / PAGE)));
    this.gemm = inst.exports.gemm as LinalgWasm['gemm'];
    this.sweep = inst.exports.sweep as LinalgWasm['sweep'];
    this.memory = inst.exports.memory as WasmMemory;
    this.fview = new Float32Array(this.memory.buffer);
    this.bview = new Uint8Array(this.memory.buffer);
  }

  /** Makes the memory at least `bytes` long. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** A Float32Array over the whole memory (re-created after growth). */
  f32(): Float32Array {
    if (this.fview.buffer !== this.memory.buffer) this.fview = new Float32Array(this.memory.buffer);
    return this.fview;
  }

  /** A Uint8Array over the whole memory (re-created after growth). */
  u8(): Uint8Array {
    if (this.bview.buffer !== this.memory.buffer) this.bview = new Uint8Array(this.memory.buffer);
    return this.bview;
  }
}

let instance: LinalgWasm | null = null;

/** This thread's linalg instance, created on first use. Throws when SIMD is unavailable. */
export function linalgWasm(): LinalgWasm {
  if (!instance) {
    if (!simdSupported()) throw new Error('WebAssembly SIMD is not available in this runtime');
    instance = new LinalgWasm(1 << 20);
  }
  return instance;
}
