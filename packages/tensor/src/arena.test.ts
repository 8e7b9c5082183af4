// Arenas own memory explicitly: buffers lent in a scope are taken back by reset and served again, zero-filled,
// with no new allocation and no forced garbage collection.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Arena, allocF32, allocF64, allocU16, currentArena, persistent, sizeClass } from './storage.js';
import { Tensor } from './tensor.js';
import { storageUse } from './testing/storage.js';

const delta = (f: () => void) => {
  const { forcedGcs: _, ...u } = storageUse(f);
  return u;
};

describe('Arena', () => {
  it('serves the same sizes again after reset: new memory only in the first round, always zero-filled', () => {
    const arena = new Arena();
    const round = () =>
      arena.use(() => {
        const a = allocF32(100);
        const b = allocF64(7);
        const c = allocU16(50); // 100 bytes: may reuse a buffer of another view type
        expect(a.every((v) => v === 0) && b.every((v) => v === 0) && c.every((v) => v === 0)).toBe(true);
        a.fill(3);
        b.fill(4);
        c.fill(5);
        return Tensor.zeros([10, 10]).data.fill(6);
      });
    const first = delta(() => {
      round();
      arena.reset();
    });
    expect(first).toEqual({ bytes: 448 + 64 + 128 + 448, buffers: 4, reused: 0, unowned: 0 }); // size classes
    for (let r = 0; r < 3; r++) {
      const again = delta(() => {
        round();
        arena.reset();
      });
      expect(again).toEqual({ bytes: 0, buffers: 0, reused: 956, unowned: 0 });
    }
    expect(arena.bytes).toBe(1088);
  });

  it('property: any sequence of rounds with the same size multiset allocates only in round one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 64 }), { minLength: 1, maxLength: 12 }),
        fc.nat(5),
        (sizes, rot) => {
          const arena = new Arena();
          const round = (order: number[]) =>
            arena.use(() => {
              for (const n of order) {
                const a = allocF32(n);
                if (a.some((v) => v !== 0)) throw new Error('not zero-filled');
                a.fill(1);
              }
            });
          const first = delta(() => round(sizes));
          arena.reset();
          const rotated = [...sizes.slice(rot % sizes.length), ...sizes.slice(0, rot % sizes.length)];
          const second = delta(() => round(rotated));
          arena.reset();
          return first.buffers === sizes.length && second.buffers === 0 && second.bytes === 0;
        },
      ),
    );
  });

  it('property: a buffer lent again is zero over every requested byte (any size, after any view type wrote it)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }), (counts) => {
        const arena = new Arena();
        arena.use(() => {
          for (const n of counts) new Uint8Array(allocF64(Math.ceil(n / 4)).buffer).fill(0xa5); // every byte non-zero
        });
        arena.reset();
        return arena.use(() => counts.every((n) => allocU16(n).every((v) => v === 0))); // 2n bytes each
      }),
    );
  });

  it('size classes: at most 25% above the request, monotonic, exact at powers of two', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (n) => {
        const c = sizeClass(n);
        return c >= n && c <= Math.max(64, n * 1.25) && sizeClass(n + 1) >= c && sizeClass(c) === c;
      }),
    );
    expect([0, 1, 64, 65, 256, 257, 512, 4096, 4097].map(sizeClass)).toEqual([
      0, 64, 64, 128, 256, 320, 512, 4096, 5120,
    ]);
  });

  it('property: rounds of requests no larger than a first round (decode steps, documents), in any order, allocate nothing more', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }), {
          minLength: 1,
          maxLength: 30,
        }),
        (top, rounds) => {
          const arena = new Arena();
          const round = (sizes: number[]) =>
            arena.use(() => {
              for (const n of sizes) {
                const a = allocF32(n);
                if (a.length !== n || a.some((v) => v !== 0)) throw new Error('wrong length or not zero-filled');
                a.fill(1);
              }
            });
          round(top);
          arena.reset();
          const held = arena.bytes;
          const later = delta(() => {
            for (const r of rounds) {
              // each request at most the first round's in the same slot, in a shuffled order: best fit serves
              // them all from the first round's buffers
              const sizes = top.map((n, k) => Math.ceil(n * r[k]!));
              round(sizes.map((_, k) => sizes[(k + Math.floor(r[0]! * 7)) % sizes.length]!));
              arena.reset();
            }
          });
          return later.buffers === 0 && arena.bytes === held;
        },
      ),
    );
  });

  it('nested scopes: the innermost owner allocates; persistent escapes the arena; reset is refused while open', () => {
    const outer = new Arena();
    const inner = new Arena();
    let kept: Float32Array | null = null;
    outer.use(() => {
      expect(currentArena()).toBe(outer);
      inner.use(() => {
        expect(currentArena()).toBe(inner);
        allocF32(8);
        persistent(() => {
          expect(currentArena()).toBeNull();
          kept = allocF32(8);
        });
      });
      expect(() => outer.reset()).toThrow(/in use/);
      allocF32(4);
    });
    expect(currentArena()).toBeNull();
    expect(inner.bytes).toBe(64);
    expect(outer.bytes).toBe(64);
    inner.reset();
    inner.use(() => allocF32(8)).fill(9);
    expect(kept!.every((v) => v === 0)).toBe(true); // a persistent buffer is never lent again
  });

  it('dispose hands the buffers to the next arena (the next run of the same shapes allocates nothing)', () => {
    const a = new Arena();
    a.use(() => allocF32(1234));
    a.dispose();
    expect(a.bytes).toBe(0);
    const b = new Arena();
    expect(delta(() => b.use(() => allocF32(1234)))).toMatchObject({ bytes: 0, buffers: 0, reused: 4936 });
    b.dispose();
  });

  it('allocations outside any scope are unowned; inside an arena or persistent scope they are not', () => {
    expect(delta(() => allocF32(10)).unowned).toBe(40);
    expect(delta(() => persistent(() => allocF32(10))).unowned).toBe(0);
    const a = new Arena();
    expect(delta(() => a.use(() => allocF32(10))).unowned).toBe(0);
  });
});

const dist = fileURLToPath(new URL('../dist/storage.js', import.meta.url));

describe('the GC backstop', () => {
  it('fires only for unowned memory: an arena loop over 1.25 GB of requests holds one round and forces no GC', () => {
    const script = `
      const s = await import(${JSON.stringify(dist)});
      s.setSharedGcThreshold(256 << 20);
      const arena = new s.Arena();
      let peak = 0;
      for (let i = 0; i < 40; i++) {
        arena.use(() => {
          const a = s.allocF32(8 << 20);
          for (let k = 0; k < a.length; k += 1024) a[k] = 1;
        });
        arena.reset();
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      const owned = s.storageStats().forcedGcs;
      for (let i = 0; i < 40; i++) s.allocF32(8 << 20).fill(1, 0, 1);
      console.log(JSON.stringify({ peak, owned, unowned: s.storageStats().forcedGcs }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout.trim()) as { peak: number; owned: number; unowned: number };
    expect(o.owned).toBe(0);
    expect(o.peak / 2 ** 20).toBeLessThan(250);
    expect(o.unowned).toBeGreaterThanOrEqual(4); // 1.25 GB unowned in 32 MB pieces, threshold 256 MB
  });
});
