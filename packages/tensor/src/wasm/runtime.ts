import { instantiateSync, type WasmMemory, wasmApi } from './api.js';
import { buildMatmulModule, simdProbe } from './matmul_module.js';

let simd: boolean | undefined;
let relaxed: boolean | undefined;

/** True when the runtime validates a module using 128-bit SIMD. */
export function simdSupported(): boolean {
  if (simd === undefined) {
    const w = wasmApi();
    try {
      simd = !!w && w.validate(simdProbe(false));
    } catch {
      simd = false;
    }
  }
  return simd;
}

/** True when relaxed SIMD (`f32x4.relaxed_madd`) validates (Node 20: only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  if (relaxed === undefined) {
    const w = wasmApi();
    try {
      relaxed = simdSupported() && !!w && w.validate(simdProbe(true));
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}

const PAGE = 65536;

/** One thread's instance of the matmul module plus a float view of its memory. */
export class MatmulWasm {
  readonly gebp: (
    ap: number,
    bp: number,
    cp: number,
    mPanels: number,
    nPanels: number,
    kc: number,
    lda: number,
    ldc: number,
    first: number,
  ) => void;
  readonly dots: (xp: number, wp: number, kp: number, rows: number, ldw: number, out: number) => void;
  /** `dots` over W rows of bfloat16 / float16 patterns (`ldw` in bytes), widened exactly in the loop. */
  readonly dotsBf16: MatmulWasm['dots'];
  readonly dotsF16: MatmulWasm['dots'];
  /** `dotsF16` without the Inf/NaN fix-up: returns 1 (results invalid, rerun with dotsF16) when W held any. */
  readonly dotsF16Finite: (xp: number, wp: number, kp: number, rows: number, ldw: number, out: number) => number;
  /** `dotsF16Finite` for x staged as x * 2^112 (exact while |x| < 2^16): one multiply fewer per weight. */
  readonly dotsF16Scaled: MatmulWasm['dotsF16Finite'];
  /** dst[i] = float32 of the 16-bit pattern src[i], i < n (n a multiple of 4; byte pointers). */
  readonly widenBf16: (src: number, dst: number, n: number) => void;
  readonly widenF16: (src: number, dst: number, n: number) => void;
  readonly packA: (stage: number, dst: number, kc: number, nPanels: number) => void;
  readonly packB: (stage: number, dst: number, kc: number, nPanels: number) => void;
  /** The in-place-W gemm, its untiling and its A packing (MW-row panels): see gemm_w_emit.ts. */
  readonly gemmW: (
    ap: number,
    wp: number,
    cp: number,
    mPanels: number,
    nTiles: number,
    kc: number,
    ldw: number,
    cts: number,
    first: number,
  ) => void;
  readonly untileW: (
    src: number,
    dst: number,
    mPanels: number,
    nTiles: number,
    cts: number,
    bias: number,
    hasBias: number,
    ldd: number,
  ) => void;
  readonly packAW: MatmulWasm['packB'];
  readonly untile: (
    src: number,
    dst: number,
    rows: number,
    nPanels: number,
    cps: number,
    bias: number,
    hasBias: number,
  ) => void;
  /** out[j] = sum_kk a[kk] * b[kk*ldb + j], j < 4 * nb (see axpy_emit.ts). */
  readonly axpy: (ap: number, bp: number, k: number, nb: number, ldb: number, out: number) => void;
  readonly fma: boolean;
  private readonly memory: WasmMemory;
  private view: Float32Array;
  private view16: Uint16Array;

  constructor(opts: { fma: boolean; reloadB: boolean }, bytes: number) {
    const pages = Math.ceil(bytes / PAGE);
    const inst = instantiateSync(buildMatmulModule(opts, pages));
    this.gebp = inst.exports.gebp as MatmulWasm['gebp'];
    this.dots = inst.exports.dots as MatmulWasm['dots'];
    this.dotsBf16 = inst.exports.dotsBf16 as MatmulWasm['dots'];
    this.dotsF16 = inst.exports.dotsF16 as MatmulWasm['dots'];
    this.dotsF16Finite = inst.exports.dotsF16Finite as MatmulWasm['dotsF16Finite'];
    this.dotsF16Scaled = inst.exports.dotsF16Scaled as MatmulWasm['dotsF16Finite'];
    this.widenBf16 = inst.exports.widenBf16 as MatmulWasm['widenBf16'];
    this.widenF16 = inst.exports.widenF16 as MatmulWasm['widenBf16'];
    this.untile = inst.exports.untile as MatmulWasm['untile'];
    this.axpy = inst.exports.axpy as MatmulWasm['axpy'];
    this.packA = inst.exports.packA as MatmulWasm['packB'];
    this.packB = inst.exports.packB as MatmulWasm['packB'];
    this.gemmW = inst.exports.gemmW as MatmulWasm['gemmW'];
    this.untileW = inst.exports.untileW as MatmulWasm['untileW'];
    this.packAW = inst.exports.packAW as MatmulWasm['packB'];
    this.memory = inst.exports.memory as WasmMemory;
    this.view = new Float32Array(this.memory.buffer);
    this.view16 = new Uint16Array(this.memory.buffer);
    this.fma = opts.fma;
  }

  /** Makes the memory at least `bytes` long. */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** A Float32Array over the whole memory (re-created after growth). */
  f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** A Uint16Array over the whole memory (re-created after growth). */
  u16(): Uint16Array {
    if (this.view16.buffer !== this.memory.buffer) this.view16 = new Uint16Array(this.memory.buffer);
    return this.view16;
  }
}

let instance: MatmulWasm | null = null;

/** Initial memory of a matmul instance; grows on demand. */
const INITIAL_BYTES = 4 << 20;

/**
 * This thread's matmul instance, created on first use (so it works inline and inside a worker alike).
 * Throws when SIMD is unavailable: callers check `simdSupported()` first.
 */
export function matmulWasm(): MatmulWasm {
  if (!instance) {
    if (!simdSupported()) throw new Error('WebAssembly SIMD is not available in this runtime');
    instance = new MatmulWasm({ fma: relaxedSimdSupported(), reloadB: false }, INITIAL_BYTES);
  }
  return instance;
}
