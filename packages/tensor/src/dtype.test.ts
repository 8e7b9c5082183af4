import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bf16ToF32,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16ToF32,
  f32Bits,
  f32FromBits,
  f32ToBf16,
  f32ToF16,
} from './dtype.js';

/** float16 value from its fields by arithmetic (independent of the bit tricks under test). */
function f16ByFormula(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m ? Number.NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const isF16NaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isBf16NaN = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

// Positive finite float16 values in increasing order, for the nearest-value reference.
const F16_POS = Array.from({ length: 0x7c00 }, (_, h) => f16ByFormula(h));

/** Nearest float16 by binary search over all finite values, ties to the even pattern. */
function f16Nearest(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Largest finite 65504; halfway to the next (virtual) step 65536 is 65520, which ties to even -> Inf.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = F16_POS.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (F16_POS[mid]! <= a) lo = mid;
    else hi = mid;
  }
  if (a >= F16_POS[hi]!) return sign | hi;
  const dl = a - F16_POS[lo]!;
  const dh = F16_POS[hi]! - a;
  if (dl < dh) return sign | lo;
  if (dh < dl) return sign | hi;
  return sign | (lo % 2 === 0 ? lo : hi);
}

/** Nearest bfloat16 by comparing the distances to the two truncation neighbours in float64. */
function bf16Nearest(x: number): number {
  const b = f32Bits(x);
  if (Number.isNaN(x)) return -1;
  const lo = b >>> 16;
  if ((lo & 0x7f80) === 0x7f80) return lo; // Inf
  const vlo = f32FromBits(lo << 16);
  const hiBits = lo + 1;
  // Next magnitude up; the pattern after the largest finite is Inf.
  const vhi = (hiBits & 0x7fff) === 0x7f80 ? Math.sign(x) * 2 ** 128 : f32FromBits(hiBits << 16);
  const dl = Math.abs(x - vlo);
  const dh = Math.abs(vhi - x);
  if (dl < dh) return lo;
  if (dh < dl) return hiBits;
  return lo % 2 === 0 ? lo : hiBits;
}

describe('float16', () => {
  it('decodes all 65536 patterns exactly (scalar and bulk)', () => {
    const src = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const bulk = decodeF16(src, new Float32Array(65536));
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const want = f16ByFormula(h);
      const got = f16ToF32(h);
      if (!Object.is(got, want) && !(Number.isNaN(got) && Number.isNaN(want))) bad++;
      if (!Object.is(bulk[h], got) && !(Number.isNaN(bulk[h]) && Number.isNaN(got))) bad++;
    }
    expect(bad).toBe(0);
  });

  it('round-trips every pattern (NaN payloads via bulk, signalling NaNs quieted)', () => {
    const src = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const back = encodeF16(decodeF16(src, new Float32Array(65536)), new Uint16Array(65536));
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const want = isF16NaN(h) ? h | 0x200 : h;
      if (back[h] !== want) bad++;
      const s = f32ToF16(f16ToF32(h));
      if (isF16NaN(h) ? !isF16NaN(s) : s !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it('rounds every float16 midpoint and its float32 neighbours like the nearest-value reference', () => {
    let bad = 0;
    const cases = new Float32Array(8);
    for (let h = 0; h < 0x7c00; h++) {
      const v = f16ByFormula(h);
      const next = h + 1 < 0x7c00 ? f16ByFormula(h + 1) : 65536;
      const mid = f32Bits((v + next) / 2); // exact in float32
      cases.set([v, f32FromBits(mid), f32FromBits(mid - 1), f32FromBits(mid + 1), f32FromBits(f32Bits(v) + 1)]);
      for (let c = 0; c < 5; c++) {
        for (const x of [cases[c]!, -cases[c]!]) {
          if (f32ToF16(x) !== f16Nearest(x)) bad++;
        }
      }
    }
    expect(bad).toBe(0);
  });

  it('matches the reference on random float32 bit patterns (scalar and bulk)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 64 }), (bits) => {
        const src = new Float32Array(new Uint32Array(bits).buffer);
        const enc = encodeF16(src, new Uint16Array(src.length));
        for (let i = 0; i < src.length; i++) {
          const x = src[i]!;
          if (Number.isNaN(x)) {
            expect(isF16NaN(enc[i]!)).toBe(true);
            expect(isF16NaN(f32ToF16(x))).toBe(true);
          } else {
            expect(enc[i]).toBe(f16Nearest(x));
            expect(f32ToF16(x)).toBe(enc[i]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('handles the named edge cases', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519.99)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(2 ** -24)).toBe(1);
    expect(f32ToF16(2 ** -25)).toBe(0); // tie to even
    expect(f32ToF16(1.5 * 2 ** -25)).toBe(1);
    expect(f32ToF16(3 * 2 ** -25)).toBe(2); // 1.5 units -> 2 (even)
    expect(f32ToF16(1e-10)).toBe(0);
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
  });
});

describe('bfloat16', () => {
  it('decodes all 65536 patterns exactly and round-trips them', () => {
    const src = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const dec = decodeBf16(src, new Float32Array(65536));
    const back = encodeBf16(dec, new Uint16Array(65536));
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      // bfloat16 is the top half of float32: value by formula with 8 exponent bits, 7 mantissa bits.
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 7) & 0xff;
      const m = h & 0x7f;
      const want =
        e === 255 ? (m ? Number.NaN : s * Infinity) : e === 0 ? s * m * 2 ** -133 : s * (1 + m / 128) * 2 ** (e - 127);
      const got = bf16ToF32(h);
      if (!Object.is(got, want) && !(Number.isNaN(got) && Number.isNaN(want))) bad++;
      if (!Object.is(dec[h], got) && !(Number.isNaN(dec[h]) && Number.isNaN(got))) bad++;
      if (back[h] !== (isBf16NaN(h) ? h | 0x40 : h)) bad++;
      const s2 = f32ToBf16(got);
      if (isBf16NaN(h) ? !isBf16NaN(s2) : s2 !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it('rounds random float32 values and exact midpoints like the distance reference', () => {
    const arbBits = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }),
      // Exact midpoints and their neighbours.
      fc
        .tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x7fff, 0x8000, 0x8001))
        .map(([h, r]) => (h * 65536 + r) >>> 0),
    );
    fc.assert(
      fc.property(fc.array(arbBits, { minLength: 1, maxLength: 64 }), (bits) => {
        const src = new Float32Array(new Uint32Array(bits).buffer);
        const enc = encodeBf16(src, new Uint16Array(src.length));
        for (let i = 0; i < src.length; i++) {
          const x = src[i]!;
          if (Number.isNaN(x)) expect(isBf16NaN(enc[i]!)).toBe(true);
          else expect(enc[i]).toBe(bf16Nearest(x));
          expect(f32ToBf16(x) === enc[i] || (Number.isNaN(x) && isBf16NaN(f32ToBf16(x)))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('handles the named edge cases', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(f32FromBits(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16(f32FromBits(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16(f32FromBits(0x7f7fffff))).toBe(0x7f80); // overflow to Inf
    expect(f32ToBf16(Number.NaN) & 0x7fc0).toBe(0x7fc0);
    expect(f32ToBf16(f32FromBits(0x7f800001))).toBe(0x7fc0); // signalling NaN quieted, not turned into Inf
    expect(f32ToBf16(-0)).toBe(0x8000);
  });

  it('bulk conversions respect subarray offsets of source and destination', () => {
    const vals = Float32Array.from([1.5, -2.25, 65504, 1e-8, Number.NaN, -0, 2.71]);
    const backing = new Float32Array(vals.length + 3);
    backing.set(vals, 3);
    const src = backing.subarray(3);
    const h = new Uint16Array(vals.length + 1);
    encodeF16(src, h.subarray(1));
    const b = new Uint16Array(vals.length + 2);
    encodeBf16(src, b.subarray(2));
    const back = new Float32Array(vals.length + 5);
    decodeF16(h.subarray(1), back.subarray(5));
    expect(h[0]).toBe(0);
    for (let i = 0; i < vals.length; i++) {
      expect(h[i + 1]).toBe(f32ToF16(vals[i]!));
      expect(b[i + 2]).toBe(f32ToBf16(vals[i]!));
      expect(Object.is(back[i + 5], f16ToF32(h[i + 1]!)) || Number.isNaN(back[i + 5])).toBe(true);
    }
    expect(Array.from(back.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
    const dec = decodeBf16(b.subarray(2), new Float32Array(vals.length + 1).subarray(1));
    expect(dec[0]).toBe(1.5);
  });

  it('rejects destinations that are too short', () => {
    expect(() => decodeF16(new Uint16Array(3), new Float32Array(2))).toThrow(/decodeF16.*2.*3/);
    expect(() => encodeBf16(new Float32Array(3), new Uint16Array(2))).toThrow(/encodeBf16/);
  });
});
