/**
 * A fast e^x for the kernels: x = (32k + j) ln2/32 + r with |r| <= ln2/64, e^x = 2^k' * 2^(j/32) * poly(r)
 * (degree-5 Taylor, relative error < 1e-14), about twice as fast as Math.exp in V8's optimised loops.
 * Outside [-100, 80] (and for NaN/Inf) it defers to Math.exp.
 */

const C = Math.LN2 / 32;
/** C split so that k * HI is exact for |k| < 2^13. */
const HI = Math.round(C * 2 ** 40) / 2 ** 40;
const LO = C - HI;
const INV = 32 / Math.LN2;
const POW2F = Float64Array.from({ length: 32 }, (_, j) => 2 ** (j / 32));
const BIAS = 160;
const POW2I = Float64Array.from({ length: 300 }, (_, m) => 2 ** (m - BIAS));

/** e^x in float64 (relative error < 1e-14). */
export function fastExp(x: number): number {
  if (!(x > -100 && x < 80)) return Math.exp(x);
  const k = Math.floor(x * INV + 0.5);
  const r = x - k * HI - k * LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
  return POW2I[(k >> 5) + BIAS]! * POW2F[k & 31]! * p;
}
