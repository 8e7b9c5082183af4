import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastExp } from './exp.js';

describe('fastExp', () => {
  it('is within 1e-14 relative of Math.exp over the fast range and its edges', () => {
    fc.assert(
      fc.property(fc.double({ min: -110, max: 90, noNaN: true }), (x) => {
        const want = Math.exp(x);
        expect(Math.abs(fastExp(x) - want)).toBeLessThanOrEqual(1e-14 * want);
      }),
      { numRuns: 3000 },
    );
    for (const x of [-100, -99.99999, -88.7, -87.3, -1e-300, 0, 1e-300, 0.5, Math.LN2, 79.9999, 80]) {
      expect(Math.abs(fastExp(x) / Math.exp(x) - 1)).toBeLessThan(1e-14);
    }
  });

  it('rounds to the same float32 as Math.exp on a dense sweep', () => {
    let bad = 0;
    for (let i = 0; i <= 200000; i++) {
      const x = Math.fround(-104 + (194 * i) / 200000);
      if (Math.fround(fastExp(x)) !== Math.fround(Math.exp(x))) bad++;
    }
    expect(bad).toBe(0);
  });

  it('handles infinities and NaN', () => {
    expect(fastExp(-Infinity)).toBe(0);
    expect(fastExp(Infinity)).toBe(Infinity);
    expect(fastExp(1000)).toBe(Infinity);
    expect(fastExp(-1000)).toBe(0);
    expect(Number.isNaN(fastExp(Number.NaN))).toBe(true);
  });
});
