import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkCount, HOT_INLINE_BELOW_NS, INLINE_BELOW_NS, splitRows } from './split.js';

describe('splitRows', () => {
  it('covers [0, rows) with ordered, contiguous, non-empty, aligned chunks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom(1, 2, 4, 12),
        (rows, chunks, align) => {
          const r = splitRows(rows, chunks, align);
          expect(r.length).toBeGreaterThanOrEqual(1);
          expect(r.length).toBeLessThanOrEqual(chunks);
          expect(r[0]![0]).toBe(0);
          expect(r[r.length - 1]![1]).toBe(rows);
          for (let i = 0; i < r.length; i++) {
            const [a, b] = r[i]!;
            expect(b).toBeGreaterThan(a);
            expect(a % align).toBe(0);
            if (i > 0) expect(a).toBe(r[i - 1]![1]);
          }
          // Even: chunk sizes (in align units) differ by at most one unit.
          const units = r.map(([a, b]) => Math.ceil((b - a) / align));
          expect(Math.max(...units) - Math.min(...units)).toBeLessThanOrEqual(1);
          expect(splitRows(rows, chunks, align)).toEqual(r); // deterministic
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives exact ranges for known cases', () => {
    expect(splitRows(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(splitRows(10, 2, 4)).toEqual([
      [0, 4],
      [4, 10],
    ]);
    expect(splitRows(3, 8)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expect(splitRows(0, 4)).toEqual([[0, 0]]);
  });
});

describe('chunkCount', () => {
  it('keeps small work inline and splits large work up to the thread count', () => {
    expect(chunkCount(100, 4, { costPerRow: 100 })).toBe(1); // 10 µs of work
    expect(chunkCount(1000, 4, { costPerRow: (INLINE_BELOW_NS - 1) / 1000 })).toBe(1);
    expect(chunkCount(1000, 4, { costPerRow: 10_000 })).toBe(4); // 10 ms
    expect(chunkCount(1000, 1, { costPerRow: 10_000 })).toBe(1);
    expect(chunkCount(1000, 4, { costPerRow: 600 })).toBe(2); // 0.6 ms: two threads at most
    expect(chunkCount(6, 4, { costPerRow: 1e6, minRowsPerThread: 3 })).toBe(2);
    expect(chunkCount(8, 4, { costPerRow: 1e6, align: 4 })).toBe(2);
    expect(chunkCount(1, 4, { costPerRow: 1e9 })).toBe(1);
  });

  it('splits smaller work while the workers poll (hot), never below HOT_INLINE_BELOW_NS', () => {
    // a decode step's attention at OPT-125M's shape: 12 heads, ~4.4 µs each
    expect(chunkCount(12, 2, { costPerRow: 4400 })).toBe(1);
    expect(chunkCount(12, 2, { costPerRow: 4400 }, true)).toBe(2);
    expect(chunkCount(12, 4, { costPerRow: 4400 }, true)).toBe(2); // 53 µs: 20 µs per extra thread at least
    expect(chunkCount(100, 2, { costPerRow: (HOT_INLINE_BELOW_NS - 1) / 100 }, true)).toBe(1);
    expect(chunkCount(1000, 4, { costPerRow: 10_000 }, true)).toBe(4);
    expect(chunkCount(12, 1, { costPerRow: 1e6 }, true)).toBe(1);
  });

  it('rejects bad options with a clear message', () => {
    expect(() => chunkCount(10, 2, { align: 0 })).toThrow(/align must be an integer >= 1, got 0/);
    expect(() => chunkCount(10, 2, { costPerRow: Number.NaN })).toThrow(/costPerRow/);
  });
});
