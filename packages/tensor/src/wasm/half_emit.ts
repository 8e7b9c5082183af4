/**
 * Exact float16 / bfloat16 -> float32 widening in WebAssembly SIMD, emitted inline into the matmul kernels.
 *
 * bf16: the float32 bits are `h << 16`.
 * f16 (IEEE binary16): with em = h & 0x7fff, `f32(em << 13) * 2^112` is exact for zeros, subnormals (a float32
 * subnormal scaled by a power of two) and normals; for em >= 0x7c00 (Inf, NaN) the product's exponent field is
 * 143 and OR-ing 0x7f800000 turns it into Inf / NaN with the payload kept; the sign is OR-ed back last. This
 * equals dtype.ts's f16BitsToF32Bits bit for bit (the tests compare all 65536 patterns).
 */
import { Code, I32, V128, type ValType } from './emitter.js';

/** Storage of a weight operand: float32, or 16-bit patterns widened in the kernel. */
export type WeightKind = 'f32' | 'bf16' | 'f16';

/** Locals a widener needs (appended to a function's locals at index `base`). */
export function widenLocals(kind: WeightKind): ValType[] {
  return kind === 'f16' ? new Array(6).fill(V128) : [];
}

/**
 * Emits code that loads four 16-bit patterns from [address on the stack + offset] and leaves their float32
 * values as one f32x4 on the stack. `base` is the index of the locals from `widenLocals`, initialised once by
 * `emitWidenInit`.
 */
export function emitWidenLoad(c: Code, kind: WeightKind, base: number, offset: number): void {
  c.v128Load16x4U(offset);
  if (kind === 'bf16') {
    c.i32(16).i32x4Shl();
    return;
  }
  const [h, em, m7fff, m7bff, inf, k112] = [base, base + 1, base + 2, base + 3, base + 4, base + 5];
  c.tee(h).get(m7fff).v128And().tee(em).i32(13).i32x4Shl().get(k112).f32x4Mul();
  c.get(em).get(m7bff).i32x4GtS().get(inf).v128And().v128Or();
  c.get(h).get(em).v128Xor().i32(16).i32x4Shl().v128Or();
}

/** Initialises the constant locals of an f16 widener (nothing for bf16). */
export function emitWidenInit(c: Code, kind: WeightKind, base: number): void {
  if (kind !== 'f16') return;
  c.i32x4Const(0x7fff).set(base + 2);
  c.i32x4Const(0x7bff).set(base + 3);
  c.i32x4Const(0x7f800000).set(base + 4);
  c.i32x4Const(0x77800000).set(base + 5); // 2^112
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
