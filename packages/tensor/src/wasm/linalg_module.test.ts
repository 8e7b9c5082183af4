import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinalgWasm } from './linalg_runtime.js';
import { simdSupported } from './runtime.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 31 - 1;
  });
}

describe.runIf(simdSupported())('linalg wasm module', () => {
  const w = new LinalgWasm(1 << 20);

  it('gemm: C = (load ? C : 0) - A B, float32 chains over k in order (naive reference)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        fc.integer(),
        (mp, np, k, pad, load, seed) => {
          const m = mp * 4;
          const n = np * 8;
          const a = rand(m * k, seed);
          const b = rand(k * n, seed + 1);
          const c0 = rand(m * (n + pad), seed + 2);
          const mem = w.f32();
          const lda = (k + 1) * 16; // panel stride larger than needed
          const ldb = (k + 2) * 32;
          const ap = 64;
          const bp = ap + mp * lda;
          const cp = bp + np * ldb;
          const ldc = (n + pad) * 4;
          for (let i = 0; i < m; i++)
            for (let t = 0; t < k; t++) mem[(ap + (i >> 2) * lda) / 4 + t * 4 + (i & 3)] = a[i * k + t]!;
          for (let t = 0; t < k; t++)
            for (let j = 0; j < n; j++) mem[(bp + (j >> 3) * ldb) / 4 + t * 8 + (j & 7)] = b[t * n + j]!;
          mem.set(c0, cp / 4);
          w.gemm(ap, lda, bp, ldb, cp, ldc, mp, np, k, load ? 1 : 0);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n + pad; j++) {
              const got = mem[cp / 4 + i * (n + pad) + j]!;
              if (j >= n) {
                expect(got).toBe(c0[i * (n + pad) + j]);
                continue;
              }
              let s = 0;
              for (let t = 0; t < k; t++) s = Math.fround(s + Math.fround(a[i * k + t]! * b[t * n + j]!));
              expect(got).toBe(Math.fround((load ? c0[i * (n + pad) + j]! : 0) - s));
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sweep: masked columns are zeroed, their error w/d recorded and propagated along the row (naive reference)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 21 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 21 }),
        fc.integer(),
        (rows, count, cs, ce, seed) => {
          const c0 = Math.min(cs, count);
          const c1 = Math.max(c0, Math.min(ce, count));
          const kEnd = Math.ceil(count / 4) * 4;
          const ldw = (kEnd + 4) * 4;
          const ldu = kEnd * 4;
          const wv = rand(rows * (kEnd + 4), seed);
          const uv = rand(kEnd * kEnd, seed + 1);
          for (let i = 0; i < kEnd; i++) for (let j = 0; j < kEnd; j++) if (j <= i || j >= count) uv[i * kEnd + j] = 0;
          const d = rand(count, seed + 2).map((x) => 0.5 + Math.abs(x));
          const maskv = rand(rows * count, seed + 3).map((x) => (x > 0 ? 1 : 0));
          const lde = count * 16;
          const [wp, up, dp, ep, mp] = [0, 4096, 8192, 12288, 16384];
          const mem = w.f32();
          const u8 = w.u8();
          mem.set(wv, wp / 4);
          mem.set(uv, up / 4);
          mem.set(d, dp / 4);
          mem.fill(0, ep / 4, ep / 4 + Math.ceil(rows / 4) * count * 4);
          for (let k = 0; k < rows * count; k++) u8[mp + k] = maskv[k]!;
          w.sweep(wp, ldw, up, ldu, dp, ep, lde, mp, count, rows, c0, c1, kEnd);
          for (let r = 0; r < rows; r++) {
            const row = Array.from(wv.subarray(r * (kEnd + 4), (r + 1) * (kEnd + 4)));
            const err = new Array<number>(count).fill(0);
            for (let c = c0; c < c1; c++) {
              if (!maskv[r * count + c]) continue;
              const e = Math.fround(row[c]! / d[c]!);
              row[c] = 0;
              err[c] = e;
              for (let k = c + 1; k < kEnd; k++) row[k] = Math.fround(row[k]! - Math.fround(e * uv[c * kEnd + k]!));
            }
            for (let k = 0; k < kEnd + 4; k++) expect(mem[wp / 4 + r * (kEnd + 4) + k]).toBe(row[k]);
            for (let c = 0; c < count; c++) expect(mem[ep / 4 + (r >> 2) * count * 4 + c * 4 + (r & 3)]).toBe(err[c]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
