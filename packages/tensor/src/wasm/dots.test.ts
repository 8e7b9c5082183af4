import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeF16, encodeF16 } from '../dtype.js';
import { arbDim, randn } from '../testing/index.js';
import { instantiateSync } from './api.js';
import { bf16XOrder } from './dots_emit.js';
import { naiveDots } from './dots_reference.js';
import { buildMatmulModule } from './matmul_module.js';
import { simdSupported } from './runtime.js';

type Dots = (xp: number, wp: number, kp: number, rows: number, ldw: number, out: number) => number;
interface DotsModule {
  dots: Dots;
  dotsBf16: Dots;
  dotsF16: Dots;
  dotsF16Finite: Dots;
  dotsF16Scaled: Dots;
  memory: { buffer: ArrayBuffer };
}

function module(bf16Zip: boolean, dotsRows?: number): DotsModule {
  const inst = instantiateSync(buildMatmulModule({ fma: false, reloadB: false, bf16Zip, dotsRows }, 64));
  return inst.exports as never;
}

describe.runIf(simdSupported())('dots kernels (decode)', () => {
  it('bf16 (split lanes, x permuted) equals the zero-interleaving kernel, float32 dots and the naive order', () => {
    const split = module(false);
    const zip = module(true);
    fc.assert(
      fc.property(arbDim(40), arbDim(20), (rows, k16) => {
        const kp = 16 * k16;
        const x = randn([kp], rows + kp).data;
        const w32 = randn([rows, kp], kp).data;
        const bits = new Uint16Array(rows * kp);
        const wide = new Float32Array(rows * kp);
        const u32 = new Uint32Array(wide.buffer);
        const src = new Uint32Array(w32.buffer, w32.byteOffset, w32.length);
        for (let i = 0; i < bits.length; i++) {
          bits[i] = src[i]! >>> 16;
          u32[i] = bits[i]! << 16;
        }
        const outs: Float32Array[] = [];
        for (const [m, kind] of [
          [split, 'f32'],
          [split, 'bf16'],
          [zip, 'bf16'],
        ] as const) {
          const f = new Float32Array(m.memory.buffer);
          const X = 0;
          const W = kp * 4;
          const OUT = W + rows * kp * 4;
          if (kind === 'f32') {
            f.set(x, X / 4);
            f.set(wide, W / 4);
            m.dots(X, W, kp, rows, kp * 4, OUT);
          } else {
            for (let p = 0; p < kp; p++) f[X / 4 + p] = m === split ? x[bf16XOrder(p)]! : x[p]!;
            new Uint16Array(m.memory.buffer).set(bits, W / 2);
            m.dotsBf16(X, W, kp, rows, kp * 2, OUT);
          }
          outs.push(f.slice(OUT / 4, OUT / 4 + rows));
        }
        const ref = Float32Array.from({ length: rows }, (_, r) => naiveDots(x, wide, kp, r));
        for (const o of outs) expect(Buffer.from(o.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('every kind, one row or two sharing the x loads (dotsRows 2: any row count), equals the naive order', () => {
    const one = module(false);
    const two = module(false, 2);
    fc.assert(
      fc.property(arbDim(9), arbDim(12), fc.integer({ min: 0, max: 1000 }), (rows, k16, seed) => {
        const kp = 16 * k16;
        const x = randn([kp], seed).data;
        // W: values exact in bf16 and f16 (8 significant bits, magnitudes 2^-10 .. 2^2), some zeros
        const u = randn([3, rows * kp], seed + 1).data;
        const w = Float32Array.from({ length: rows * kp }, (_, i) => {
          const m = 128 + (Math.floor(Math.abs(u[i]!) * 1e4) % 128);
          const e = Math.floor(Math.abs(u[rows * kp + i]!) * 1e4) % 13;
          return u[2 * rows * kp + i]! > 1.5 ? 0 : Math.sign(u[i]!) * m * 2 ** (-7 - e + 2);
        });
        const f16 = encodeF16(w, new Uint16Array(w.length));
        const bf16 = Uint16Array.from(new Uint32Array(w.buffer), (b) => b >>> 16);
        const ref = Float32Array.from({ length: rows }, (_, r) =>
          naiveDots(x, decodeF16(f16, new Float32Array(w.length)), kp, r),
        );
        for (const m of [one, two]) {
          const f = new Float32Array(m.memory.buffer);
          const [X, W] = [0, kp * 4];
          const OUT = W + rows * kp * 4;
          const run = (name: keyof Omit<DotsModule, 'memory'>, xs: (p: number) => number, half: boolean) => {
            for (let p = 0; p < kp; p++) f[X / 4 + p] = xs(p);
            if (half) new Uint16Array(m.memory.buffer).set(name === 'dotsBf16' ? bf16 : f16, W / 2);
            else f.set(w, W / 4);
            f.fill(Number.NaN, OUT / 4, OUT / 4 + rows);
            const flag = m[name](X, W, kp, rows, kp * (half ? 2 : 4), OUT);
            if (name === 'dotsF16Finite' || name === 'dotsF16Scaled') expect(flag).toBe(0);
            const o = f.slice(OUT / 4, OUT / 4 + rows);
            expect(Buffer.from(o.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
          };
          run('dots', (p) => x[p]!, false);
          run('dotsBf16', (p) => x[bf16XOrder(p)]!, true);
          run('dotsF16', (p) => x[p]!, true);
          run('dotsF16Finite', (p) => x[p]!, true);
          run('dotsF16Scaled', (p) => x[p]! * 2 ** 112, true);
        }
      }),
      { numRuns: 30 },
    );
  });
});
