import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbDim, randn } from '../testing/index.js';
import { instantiateSync } from './api.js';
import { bf16XOrder } from './dots_emit.js';
import { buildMatmulModule } from './matmul_module.js';
import { simdSupported } from './runtime.js';

type Dots = (xp: number, wp: number, kp: number, rows: number, ldw: number, out: number) => void;

function module(bf16Zip: boolean): { dots: Dots; dotsBf16: Dots; memory: { buffer: ArrayBuffer } } {
  const inst = instantiateSync(buildMatmulModule({ fma: false, reloadB: false, bf16Zip }, 64));
  return inst.exports as never;
}

/** Naive reference of the dots order: 16 float32 chains (k mod 16), then ((c_l + c_4+l) + (c_8+l + c_12+l)) pairwise. */
function naive(x: Float32Array, w: Float32Array, kp: number, row: number): number {
  const c = new Array<number>(16).fill(0);
  for (let k = 0; k < kp; k++) c[k & 15] = Math.fround(c[k & 15]! + Math.fround(x[k]! * w[row * kp + k]!));
  const f = Math.fround;
  const s = [0, 1, 2, 3].map((l) => f(f(c[l]! + c[4 + l]!) + f(c[8 + l]! + c[12 + l]!)));
  return f(f(s[0]! + s[1]!) + f(s[2]! + s[3]!));
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
        const ref = Float32Array.from({ length: rows }, (_, r) => naive(x, wide, kp, r));
        for (const o of outs) expect(Buffer.from(o.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
