import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from '@stade/tensor';

/** The safetensors dtypes stade recognises (for validation and inspection). */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL'
  | 'F8_E4M3'
  | 'F8_E5M2';

/** The dtypes stade writes (and computes from, after converting to float32). */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

/** Bytes per element of every recognised dtype. A null-prototype table: `__proto__` is not a dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = Object.freeze(
  Object.assign(Object.create(null) as Record<SafetensorsDtype, number>, {
    F64: 8,
    F32: 4,
    F16: 2,
    BF16: 2,
    I64: 8,
    I32: 4,
    I16: 2,
    I8: 1,
    U64: 8,
    U32: 4,
    U16: 2,
    U8: 1,
    BOOL: 1,
    F8_E4M3: 1,
    F8_E5M2: 1,
  }),
);

/** True when `s` names a recognised safetensors dtype. */
export function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_SIZE, s);
}

/** True for the dtypes written by `writeSafetensors` (F32, F16, BF16). */
export function isFloatDtype(s: unknown): s is FloatDtype {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

/**
 * True when `read()` can return the dtype as float32: the float types and the integer/bool types (integers
 * beyond 2^24 round to the nearest float32). The 8-bit float formats are recognised but not converted.
 */
export function canReadAsF32(d: SafetensorsDtype): boolean {
  return d !== 'F8_E4M3' && d !== 'F8_E5M2';
}

/**
 * Converts `n` little-endian elements of dtype `d` held in `bytes` (a fresh buffer, offset 0) into `out`.
 * For F32 on a little-endian host callers read straight into `out`'s bytes instead.
 */
export function decodeToF32(d: SafetensorsDtype, bytes: Uint8Array, out: Float32Array): void {
  const n = out.length;
  const buf = bytes.buffer;
  const off = bytes.byteOffset;
  if (LITTLE_ENDIAN && off % 8 === 0) {
    switch (d) {
      case 'F32':
        out.set(new Float32Array(buf, off, n));
        return;
      case 'F16':
        decodeF16(new Uint16Array(buf, off, n), out);
        return;
      case 'BF16':
        decodeBf16(new Uint16Array(buf, off, n), out);
        return;
      case 'F64':
        out.set(new Float64Array(buf, off, n));
        return;
      case 'I32':
        out.set(new Int32Array(buf, off, n));
        return;
      case 'U32':
        out.set(new Uint32Array(buf, off, n));
        return;
      case 'I16':
        out.set(new Int16Array(buf, off, n));
        return;
      case 'U16':
        out.set(new Uint16Array(buf, off, n));
        return;
      default:
        break;
    }
  }
  const dv = new DataView(buf, off, bytes.byteLength);
  switch (d) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return;
    case 'F16': {
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = dv.getUint16(2 * i, true);
      decodeF16(h, out);
      return;
    }
    case 'BF16': {
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = dv.getUint16(2 * i, true);
      decodeBf16(h, out);
      return;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      return;
    case 'U64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(8 * i, true));
      return;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      return;
    case 'U32':
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, true);
      return;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      return;
    case 'U16':
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true);
      return;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return;
    case 'U8':
      for (let i = 0; i < n; i++) out[i] = bytes[i]!;
      return;
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
      return;
    default:
      throw new RangeError(`decodeToF32: dtype ${d} cannot be converted`);
  }
}

/**
 * Encodes float32 values as little-endian bytes of a float dtype (F16/BF16 round to nearest even). `scratch`
 * (optional, at least `src.length` long) receives 16-bit results, so a caller encoding chunk after chunk reuses one
 * buffer instead of first-touching fresh pages for every chunk; the result is a view of it.
 */
export function encodeFromF32(d: FloatDtype, src: Float32Array, scratch?: Uint16Array): Uint8Array {
  const n = src.length;
  if (d === 'F32') {
    if (LITTLE_ENDIAN) return new Uint8Array(src.buffer, src.byteOffset, n * 4);
    const out = new Uint8Array(n * 4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < n; i++) dv.setFloat32(4 * i, src[i]!, true);
    return out;
  }
  const h = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Uint16Array(n);
  if (d === 'F16') encodeF16(src, h);
  else encodeBf16(src, h);
  if (LITTLE_ENDIAN) return new Uint8Array(h.buffer, h.byteOffset, n * 2);
  const out = new Uint8Array(n * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) dv.setUint16(2 * i, h[i]!, true);
  return out;
}

/** True on little-endian hosts (all platforms Node supports in practice); other hosts take the DataView paths. */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
