import { quickselect } from '@stade/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { upperCholeskyOfInverse } from './numeric.js';

const dims = fc.constantFrom(1, 2, 3, 5, 7, 8, 13, 17, 31);
// Sizes crossing the 64-row blocks and 256-column chunks of the blocked loops.
const bigDims = fc.constantFrom(63, 65, 130, 300);

function randArray(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

describe('quickselect', () => {
  it('returns the k-th smallest, duplicates included', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }), fc.nat(), (vals, kk) => {
        const k = kk % vals.length;
        const sorted = [...vals].sort((a, b) => a - b);
        expect(quickselect(Float64Array.from(vals), vals.length, k)).toBe(sorted[k]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('upperCholeskyOfInverse', () => {
  it('gives an upper U with U^T U = A^-1 (so A U^T U = I) and a positive diagonal', () => {
    fc.assert(
      fc.property(dims, fc.integer(), (n, seed) => {
        const g = randArray(n * (n + 3), seed);
        const a = new Float64Array(n * n); // G G^T + I: SPD
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let s = i === j ? 1 : 0;
            for (let k = 0; k < n + 3; k++) s += g[i * (n + 3) + k]! * g[j * (n + 3) + k]!;
            a[i * n + j] = s;
          }
        }
        const u = upperCholeskyOfInverse(a, n);
        for (let i = 0; i < n; i++) {
          expect(u[i * n + i]).toBeGreaterThan(0);
          for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
        }
        // inv = U^T U; check A * inv = I
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let k = 0; k < n; k++) {
              let inv = 0;
              for (let m = 0; m < n; m++) inv += u[m * n + k]! * u[m * n + j]!;
              s += a[i * n + k]! * inv;
            }
            expect(s).toBeCloseTo(i === j ? 1 : 0, 8);
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it('blocked sizes: U^T U A = I', () => {
    fc.assert(
      fc.property(bigDims, fc.integer(), (n, seed) => {
        const g = randArray(n * 6, seed);
        const a = new Float64Array(n * n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            let s = i === j ? 2 : 0;
            for (let k = 0; k < 6; k++) s += g[i * 6 + k]! * g[j * 6 + k]!;
            a[i * n + j] = s;
          }
        const u = upperCholeskyOfInverse(a, n);
        // X = U A U^T must be the identity when U^T U = A^-1.
        const ua = new Float64Array(n * n);
        for (let i = 0; i < n; i++)
          for (let k = i; k < n; k++) {
            const c = u[i * n + k]!;
            for (let j = 0; j < n; j++) ua[i * n + j]! += c * a[k * n + j]!;
          }
        let worst = 0;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let k = j; k < n; k++) s += ua[i * n + k]! * u[j * n + k]!;
            worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
          }
        expect(worst).toBeLessThan(1e-9);
      }),
      { numRuns: 6 },
    );
  });

  it('names the matrix when it is not positive definite', () => {
    expect(() => upperCholeskyOfInverse(Float64Array.from([1, 2, 2, 1]), 2, 'H of fc1')).toThrow(
      /H of fc1 is not positive definite/,
    );
  });
});
