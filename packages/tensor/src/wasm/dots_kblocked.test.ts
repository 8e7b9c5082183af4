import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeF16, encodeF16 } from '../dtype.js';
import { readRowsKBlocked, readSegKBlocked, writeRowsKBlocked } from '../kblocked.js';
import { randn } from '../testing/index.js';
import { instantiateSync } from './api.js';
import { bf16XOrder, DOTS_FIRST, DOTS_LAST, emitDots } from './dots_emit.js';
import { naiveDots } from './dots_reference.js';
import { ModuleBuilder } from './emitter.js';
import { simdSupported } from './runtime.js';

const KINDS = ['f32', 'bf16', 'f16', 'f16finite', 'f16scaled'] as const;
type Kind = (typeof KINDS)[number];
type F = (...a: number[]) => number;

/** One module with the k-blocked dots of every kind, rows per pass R. */
function module(dotsRows: number): { f: Record<Kind, F>; memory: WebAssembly.Memory } {
  const m = new ModuleBuilder().addMemory(64);
  for (const kind of KINDS) {
    const d = emitDots({ fma: false, reloadB: false, dotsRows }, kind, true);
    m.addFunction(kind, d.params, d.results, d.locals, d.code);
  }
  const e = instantiateSync(m.build()).exports as Record<string, unknown>;
  return { f: e as never, memory: e.memory as WebAssembly.Memory };
}

/** The k-blocked copy of a row-major float32 W (the 16-bit helpers' layout, on 32-bit elements). */
function blocked32(w: Float32Array, n: number, k: number, kb: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let b0 = 0; b0 < k; b0 += kb) {
    const bw = Math.min(kb, k - b0);
    for (let r = 0; r < n; r++) out.set(w.subarray(r * k + b0, r * k + b0 + bw), n * b0 + r * bw);
  }
  return out;
}

describe.runIf(simdSupported())('k-blocked dots kernels (decode over long rows)', () => {
  it('every kind, any rows / k / block / split of the rows, one or two rows a pass: the naive order', () => {
    const mods = [module(1), module(2)];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(1000),
        (n, k16, kb16, parts, seed) => {
          const [k, kb] = [16 * k16, 16 * kb16];
          const x = randn([k], seed).data;
          // W: values exact in bf16 and f16 (8 significant bits, magnitudes 2^-10 .. 2^2), some zeros
          const u = randn([3, n * k], seed + 1).data;
          const w = Float32Array.from({ length: n * k }, (_, i) => {
            const m = 128 + (Math.floor(Math.abs(u[i]!) * 1e4) % 128);
            const e = Math.floor(Math.abs(u[n * k + i]!) * 1e4) % 13;
            return u[2 * n * k + i]! > 1.5 ? 0 : Math.sign(u[i]!) * m * 2 ** (-5 - e);
          });
          const f16 = encodeF16(w, new Uint16Array(w.length));
          const bf16 = Uint16Array.from(new Uint32Array(w.buffer), (b) => b >>> 16);
          const wide = decodeF16(f16, new Float32Array(w.length));
          const ref = Float32Array.from({ length: n }, (_, r) => naiveDots(x, wide, k, r));
          // rows split into `parts` contiguous shares (threads), each its own pass over the blocks
          const cuts = [0, ...Array.from({ length: parts - 1 }, (_, i) => Math.floor(((i + 1) * n) / parts)), n];
          for (const { f, memory } of mods)
            for (const kind of KINDS) {
              const half = kind !== 'f32';
              const [X, OUT, PART] = [0, k * 4, k * 4 + n * 4];
              const W = PART + n * 64;
              const f32 = new Float32Array(memory.buffer);
              const xs = (p: number) =>
                (kind === 'bf16' ? x[bf16XOrder(p)]! : x[p]!) * (kind === 'f16scaled' ? 2 ** 112 : 1);
              for (let p = 0; p < k; p++) f32[X / 4 + p] = xs(p);
              if (half) {
                const b = new Uint16Array(n * k);
                writeRowsKBlocked(kind === 'bf16' ? bf16 : f16, n, k, kb, 0, n, b);
                new Uint16Array(memory.buffer).set(b, W / 2);
              } else f32.set(blocked32(w, n, k, kb), W / 4);
              f32.fill(Number.NaN, OUT / 4, OUT / 4 + n);
              f32.fill(Number.NaN, PART / 4, PART / 4 + n * 16); // the first block must not read it
              const eb = half ? 2 : 4;
              for (let s = 0; s < parts; s++) {
                const [r0, cnt] = [cuts[s]!, cuts[s + 1]! - cuts[s]!];
                if (cnt === 0) continue;
                for (let b0 = 0; b0 < k; b0 += kb) {
                  const bw = Math.min(kb, k - b0);
                  const mode = (b0 === 0 ? DOTS_FIRST : 0) | (b0 + bw >= k ? DOTS_LAST : 0);
                  const wp = W + (n * b0 + r0 * bw) * eb;
                  const flag = f[kind](X + b0 * 4, wp, bw, cnt, bw * eb, OUT + r0 * 4, PART, mode);
                  if (kind === 'f16finite' || kind === 'f16scaled') expect(flag).toBe(0);
                }
              }
              const got = f32.slice(OUT / 4, OUT / 4 + n);
              expect(Buffer.from(got.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
            }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('the layout helpers: rows and segments read back what was written', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        (n, k16, kb16, seed) => {
          const [k, kb] = [16 * k16, 16 * kb16];
          const src = Uint16Array.from({ length: n * k }, (_, i) => (i * 7919 + seed) & 0xffff);
          const b = new Uint16Array(n * k);
          writeRowsKBlocked(src, n, k, kb, 0, n, b);
          const back = new Uint16Array(n * k);
          readRowsKBlocked(b, n, k, kb, 0, n, back, 0, k);
          expect(back).toEqual(src);
          const r = seed % n;
          const c0 = seed % k;
          const len = Math.min(k - c0, 1 + (seed % 40));
          const seg = new Uint16Array(len);
          readSegKBlocked(b, n, k, kb, r, c0, len, seg, 0);
          expect(seg).toEqual(src.subarray(r * k + c0, r * k + c0 + len));
        },
      ),
      { numRuns: 60 },
    );
  });
});
