import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { instantiateSync, wasmApi } from './api.js';
import { Code, F32, I32, ModuleBuilder, sleb, uleb } from './emitter.js';
import { buildMatmulModule, simdProbe } from './matmul_module.js';
import { relaxedSimdSupported, simdSupported } from './runtime.js';

function decodeU(bytes: number[]): number {
  let v = 0;
  let mul = 1;
  for (const b of bytes) {
    v += (b & 0x7f) * mul;
    mul *= 128;
  }
  return v;
}

function decodeS(bytes: number[]): number {
  let v = 0n;
  let shift = 0n;
  for (const b of bytes) {
    v |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  }
  if ((bytes[bytes.length - 1]! & 0x40) !== 0) v -= 1n << shift;
  return Number(v);
}

describe('LEB128', () => {
  it('known encodings', () => {
    const u = (v: number) => {
      const o: number[] = [];
      uleb(o, v);
      return o;
    };
    const s = (v: number) => {
      const o: number[] = [];
      sleb(o, v);
      return o;
    };
    expect(u(0)).toEqual([0]);
    expect(u(127)).toEqual([0x7f]);
    expect(u(128)).toEqual([0x80, 0x01]);
    expect(u(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(s(-1)).toEqual([0x7f]);
    expect(s(63)).toEqual([0x3f]);
    expect(s(64)).toEqual([0xc0, 0x00]);
    expect(s(-64)).toEqual([0x40]);
    expect(s(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(() => u(-1)).toThrow(RangeError);
    expect(() => s(2 ** 31)).toThrow(RangeError);
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (a, b) => {
          const o: number[] = [];
          uleb(o, a);
          expect(decodeU(o)).toBe(a);
          const p: number[] = [];
          sleb(p, b);
          expect(decodeS(p)).toBe(b);
        },
      ),
    );
  });
});

describe.runIf(wasmApi() !== null)('generated modules', () => {
  it('a scalar module validates and runs', () => {
    // f(x, y) = x * 3 + y, with a loop adding y twice more
    const c = new Code().get(0).i32(3).mul().get(1).add().set(2);
    c.i32(2).set(3).loop().get(2).get(1).add().set(2).get(3).i32(1).sub().tee(3).brIf(0).end();
    c.get(2);
    const m = new ModuleBuilder();
    m.addFunction('f', [I32, I32], [I32], [I32, I32], c);
    const inst = instantiateSync(m.build());
    expect((inst.exports.f as (a: number, b: number) => number)(5, 7)).toBe(5 * 3 + 7 * 3);
  });

  it('an f32 module returns the expected value', () => {
    const c = new Code().i32(0).get(0).f32Store(16).i32(0).f32Load(16).i32(0).f32Load(16).f32Mul();
    const m = new ModuleBuilder().addMemory(1);
    m.addFunction('sq', [F32], [F32], [], c);
    const inst = instantiateSync(m.build());
    expect((inst.exports.sq as (x: number) => number)(1.5)).toBe(2.25);
  });

  it('feature detection is consistent with validate', () => {
    const w = wasmApi()!;
    expect(simdSupported()).toBe(w.validate(simdProbe(false)));
    expect(relaxedSimdSupported()).toBe(simdSupported() && w.validate(simdProbe(true)));
    if (simdSupported()) {
      expect(w.validate(buildMatmulModule({ fma: false, reloadB: false }, 1))).toBe(true);
      expect(w.validate(buildMatmulModule({ fma: false, reloadB: true }, 1))).toBe(true);
      expect(
        w.validate(buildMatmulModule({ fma: false, reloadB: false, packedA: false, mr: 2, nr: 16, unroll: 2 }, 1)),
      ).toBe(true);
    }
  });
});
