/**
 * Exact float16 (IEEE binary16) and bfloat16 <-> float32 conversion. Values go up as exact widenings; on the
 * way down they round to nearest, ties to even, overflow to infinity and keep NaN a (quiet) NaN. Halves are
 * passed around as their 16 bit patterns (numbers in [0, 65535]); float inputs are first rounded to float32.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Float32 bit pattern of `x` (after rounding `x` to float32). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** The float32 whose bit pattern is `bits`. */
export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/** Float32 bits of the float16 with bit pattern `h` (NaN payloads kept). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: normalise the mantissa.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** Float16 bits of the float32 with bit pattern `b` (round to nearest even). */
function f32BitsToF16Bits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 112; // float16 biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e >= 1) {
    const rem = mant & 0x1fff;
    let h = (e << 10) | (mant >>> 13);
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry may reach the exponent or Inf: both correct
    return sign | h;
  }
  if (e < -10) return sign; // below half the smallest subnormal (also float32 subnormals)
  const m = mant | 0x800000;
  const s = 14 - e; // 14..24
  let h = m >>> s;
  const rem = m & ((1 << s) - 1);
  const half = 1 << (s - 1);
  if (rem > half || (rem === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/** Float32 value of the float16 bit pattern `h`. */
export function f16ToF32(h: number): number {
  return f32FromBits(f16BitsToF32Bits(h & 0xffff));
}

/** Float16 bit pattern nearest to `x` (ties to even; NaN -> quiet NaN; overflow -> Inf). */
export function f32ToF16(x: number): number {
  return f32BitsToF16Bits(f32Bits(x));
}

/** Float32 value of the bfloat16 bit pattern `h`. */
export function bf16ToF32(h: number): number {
  return f32FromBits((h & 0xffff) << 16);
}

function f32BitsToBf16Bits(b: number): number {
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40; // quiet NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Bfloat16 bit pattern nearest to `x` (ties to even; NaN -> quiet NaN; overflow -> Inf). */
export function f32ToBf16(x: number): number {
  return f32BitsToBf16Bits(f32Bits(x));
}

let f16Table: Uint32Array | null = null;

function checkLengths(op: string, src: ArrayBufferView & { length: number }, dst: { length: number }): void {
  if (dst.length < src.length)
    throw new RangeError(`${op}: destination holds ${dst.length} elements, source has ${src.length}`);
}

function u32View(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Decodes float16 bit patterns into float32 values (exact; NaN payloads kept). */
export function decodeF16(src: Uint16Array, dst: Float32Array): Float32Array {
  checkLengths('decodeF16', src, dst);
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  const t = f16Table;
  const out = u32View(dst);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return dst;
}

/** Encodes float32 values as float16 bit patterns (round to nearest even). */
export function encodeF16(src: Float32Array, dst: Uint16Array): Uint16Array {
  checkLengths('encodeF16', src, dst);
  const bits = u32View(src);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
  return dst;
}

/** Decodes bfloat16 bit patterns into float32 values (exact). */
export function decodeBf16(src: Uint16Array, dst: Float32Array): Float32Array {
  checkLengths('decodeBf16', src, dst);
  const out = u32View(dst);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

/** Encodes float32 values as bfloat16 bit patterns (round to nearest even). */
export function encodeBf16(src: Float32Array, dst: Uint16Array): Uint16Array {
  checkLengths('encodeBf16', src, dst);
  const bits = u32View(src);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToBf16Bits(bits[i]!);
  return dst;
}
