import { instantiateSync, type WasmMemory } from './api.js';
import { buildPackedModule } from './packed_module.js';
import { simdSupported } from './runtime.js';

type F = (...args: number[]) => void;
const PAGE = 65536;

/** One thread's instance of the packed-sparse module (see packed_module.ts) with typed views of its memory. */
export class PackedWasm {
  /** Kernels by value kind (0 float32, 1 bfloat16, 2 float16). */
  readonly dots24: F[];
  readonly dotsSparse: F[];
  readonly tile24: F[];
  readonly tileSparse: F[];
  /** The 2:4 decode's x table (packed_module.ts's emitX36). */
  readonly x36: F;
  private readonly memory: WasmMemory;
  private views: { f32: Float32Array; u16: Uint16Array; u8: Uint8Array; i32: Int32Array } | null = null;

  constructor(bytes: number) {
    const inst = instantiateSync(buildPackedModule(Math.ceil(bytes / PAGE)));
    const get = (name: string) => ['F32', 'Bf16', 'F16'].map((s) => inst.exports[name + s] as F);
    this.dots24 = get('dots24');
    this.dotsSparse = get('dotsSparse');
    this.tile24 = get('tile24');
    this.tileSparse = get('tileSparse');
    this.x36 = inst.exports.x36 as F;
    this.memory = inst.exports.memory as WasmMemory;
  }

  /** Makes the memory at least `bytes` long. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** Views over the whole memory (re-created after growth). */
  view(): { f32: Float32Array; u16: Uint16Array; u8: Uint8Array; i32: Int32Array } {
    const b = this.memory.buffer;
    if (!this.views || this.views.u8.buffer !== b)
      this.views = { f32: new Float32Array(b), u16: new Uint16Array(b), u8: new Uint8Array(b), i32: new Int32Array(b) };
    return this.views;
  }
}

let instance: PackedWasm | null = null;

/** This thread's packed-sparse instance (created on first use; needs SIMD). */
export function packedWasm(): PackedWasm {
  if (!instance) {
    if (!simdSupported()) throw new Error('WebAssembly SIMD is not available in this runtime');
    instance = new PackedWasm(4 << 20);
  }
  return instance;
}
