/**
 * Exact float16 / bfloat16 -> float32 widening in WebAssembly SIMD, emitted inline into the matmul kernels.
 *
 * bf16: the float32 bits are `h << 16`.
 * f16 (IEEE binary16): sign-extend h to 32 bits and shift left by 13: bits 13..27 hold exponent and mantissa,
 * bits 28..31 copies of the sign; keeping bit 31 (`& 0x8fffffff`) gives a float32 that, multiplied by 2^112,
 * is exactly the half's value for zeros, subnormals (a float32 subnormal scaled by a power of two) and normals
 * ('f16finite': 3 ops). For Inf/NaN (exponent 31) that product has magnitude in [2^16, 2^17), above every
 * finite half (max 65504), and OR-ing 0x7f800000 into such lanes turns it into Inf / NaN with the payload kept
 * ('f16': 4 more ops). Both equal dtype.ts's f16BitsToF32Bits bit for bit (tests compare all 65536 patterns).
 */
import { Code, I32, V128, type ValType } from './emitter.js';

/**
 * Storage of a weight operand: float32, or 16-bit patterns widened in the kernel ('f16finite': no Inf/NaN;
 * 'f16scaled': no Inf/NaN and the 2^112 factor left out, for an x pre-multiplied by 2^112, which keeps every
 * product x * w exact-identical as long as |x| < 2^16).
 */
export type WeightKind = 'f32' | 'bf16' | 'f16' | 'f16finite' | 'f16scaled';

/** Locals a widener needs (appended to a function's locals at index `base`). */
export function widenLocals(kind: WeightKind): ValType[] {
  if (kind === 'f16scaled') return [V128];
  return kind === 'f16' || kind === 'f16finite' ? new Array(6).fill(V128) : [];
}

/**
 * Emits code that loads four 16-bit patterns from [address on the stack + offset] and leaves their float32
 * values as one f32x4 on the stack. `base` is the index of the locals from `widenLocals`, initialised once by
 * `emitWidenInit`.
 */
export function emitWidenLoad(c: Code, kind: WeightKind, base: number, offset: number): void {
  if (kind === 'bf16') {
    c.v128Load16x4U(offset).i32(16).i32x4Shl();
    return;
  }
  const [keep, k112, absMask, big, inf] = [base, base + 1, base + 2, base + 3, base + 4];
  c.v128Load16x4S(offset).i32(13).i32x4Shl().get(keep).v128And();
  if (kind === 'f16scaled') return;
  c.get(k112).f32x4Mul();
  if (kind === 'f16finite') return;
  const r = base + 5;
  c.tee(r).get(absMask).v128And().get(big).f32x4Ge().get(inf).v128And().get(r).v128Or();
}

/** Initialises the constant locals of an f16 widener (nothing for bf16). */
export function emitWidenInit(c: Code, kind: WeightKind, base: number): void {
  if (kind !== 'f16' && kind !== 'f16finite' && kind !== 'f16scaled') return;
  c.i32x4Const(0x8fffffff).set(base);
  if (kind === 'f16scaled') return;
  c.i32x4Const(0x77800000).set(base + 1); // 2^112
  c.i32x4Const(0x7fffffff).set(base + 2);
  c.i32x4Const(0x47800000).set(base + 3); // 2^16
  c.i32x4Const(0x7f800000).set(base + 4);
}

/**
 * widen{Bf16,F16}(src, dst, n): dst[i] = float32 of the 16-bit pattern src[i] for i < n (n a multiple of 4;
 * src and dst byte pointers). Used to widen staged W rows before the gemm's B packing.
 */
export function emitWiden(kind: WeightKind): { params: ValType[]; locals: ValType[]; code: Code; name: string } {
  const [src, dst, n] = [0, 1, 2];
  const end = 3;
  const base = 4;
  const c = new Code();
  emitWidenInit(c, kind, base);
  c.block();
  c.get(n).i32(4).ltU().brIf(0);
  c.get(dst).get(n).i32(2).shl().add().set(end);
  c.loop();
  c.get(dst);
  c.get(src);
  emitWidenLoad(c, kind, base, 0);
  c.v128Store(0);
  c.inc(src, 8).inc(dst, 16);
  c.get(dst).get(end).ltU().brIf(0);
  c.end();
  c.end();
  return {
    params: [I32, I32, I32],
    locals: [I32, ...widenLocals(kind)],
    code: c,
    name: kind === 'bf16' ? 'widenBf16' : 'widenF16',
  };
}
