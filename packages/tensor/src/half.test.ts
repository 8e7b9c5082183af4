import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Backend, getBackend, getThreads, setBackend, setThreads } from './config.js';
import { bf16ToF32, decodeF16, f16ToF32 } from './dtype.js';
import { TensorError } from './errors.js';
import { HALF_CODE, type HalfDtype, HalfTensor } from './half.js';
import { refLinear } from './kernels/reference.js';
import { linear, linearInto } from './ops/matmul.js';
import { runGemm } from './ops/matmul_dispatch.js';
import { shutdownPool } from './parallel/pool.js';
import { allocF32, allocF64, allocU16, isShared, sharedMemoryAvailable } from './storage.js';
import { Tensor } from './tensor.js';
import { arbAnyLayout, arbDim, expectClose, mulberry32, randn } from './testing/index.js';
import { matmulWasm, simdSupported } from './wasm/runtime.js';

const backends: Backend[] = simdSupported() ? ['wasm', 'js'] : ['js'];
const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
});
afterAll(() => shutdownPool());

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Bit-identical except that NaN payloads may differ (WebAssembly leaves the payload of a NaN result open). */
function sameBitsOrNaN(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** Random finite 16-bit patterns of `dtype` (f16: every pattern below 2^3, subnormals included; bf16: |x| in [2^-12, 2^3)). */
function randomHalf(dtype: HalfDtype, shape: number[], seed: number): HalfTensor {
  const r = mulberry32(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  const d = allocU16(n);
  for (let i = 0; i < n; i++) {
    const sign = r() < 0.5 ? 0x8000 : 0;
    if (dtype === 'f16')
      d[i] = sign | Math.floor(r() * 0x4c00); // up to 2^3, subnormals included
    else d[i] = sign | ((115 + Math.floor(r() * 15)) << 7) | Math.floor(r() * 128); // ~[2^-12, 2^3)
  }
  if (n > 2) d[0] = 0; // a zero and (f16) a subnormal
  if (n > 2 && dtype === 'f16') d[1] = 0x0201;
  return new HalfTensor(dtype, d, shape);
}

describe('HalfTensor', () => {
  it('checks its arguments and converts exactly', () => {
    expect(() => new HalfTensor('f32' as HalfDtype, allocU16(2), [2])).toThrow(TensorError);
    expect(() => new HalfTensor('bf16', allocU16(5), [2, 3])).toThrow(/\[2, 3\] needs 6 elements, data has 5/);
    const h = new HalfTensor('f16', Uint16Array.from([0x3c00, 0x8001, 0x7c00, 0x7e01, 0xc000, 0x0400]), [2, 3]);
    expect(h.size).toBe(6);
    expect(h.ndim).toBe(2);
    const f = h.toFloat32();
    expect(f.shape).toEqual([2, 3]);
    expect(Array.from(f.data).slice(0, 3)).toEqual([1, -(2 ** -24), Number.POSITIVE_INFINITY]);
    expect(Number.isNaN(f.data[3])).toBe(true);
    const b = new HalfTensor('bf16', Uint16Array.from([0x3f80, 0xc040]), [2]);
    expect(Array.from(b.toFloat32().data)).toEqual([1, -3]);
    expect(Array.from(HalfTensor.fromFloat32(Tensor.from([1.5, -2, 1 / 3]), 'bf16').data)).toEqual([
      0x3fc0, 0xc000, 0x3eab,
    ]);
    expect(HalfTensor.fromFloat32(randn([3, 2], 1).transpose(), 'f16').shape).toEqual([2, 3]);
    if (sharedMemoryAvailable) expect(isShared(allocU16(4))).toBe(true);
  });
});

describe.runIf(simdSupported())('SIMD widening', () => {
  it('widens all 65536 f16 and bf16 patterns exactly (NaN payloads kept)', () => {
    const w = matmulWasm();
    const n = 65536;
    w.ensure(n * 6);
    const m16 = w.u16();
    for (let i = 0; i < n; i++) m16[i] = i;
    const want = allocF32(n);
    decodeF16(Uint16Array.from(m16.subarray(0, n)), want);
    w.widenF16(0, n * 2, n);
    const gotF16 = new Uint32Array(w.f32().buffer, n * 2, n).slice();
    expect(Buffer.from(gotF16.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    w.widenBf16(0, n * 2, n);
    const gotBf16 = new Uint32Array(w.f32().buffer, n * 2, n);
    for (let i = 0; i < n; i += 257) expect(gotBf16[i]).toBe((i << 16) >>> 0);
    expect(Object.is(f16ToF32(0x8000), -0) && Object.is(bf16ToF32(0x8000), -0)).toBe(true);
  });
});

describe.each(backends)('linear with a HalfTensor weight (%s)', (backend) => {
  const dtypes: HalfDtype[] = ['bf16', 'f16'];

  it('is bit-identical to linear on the float32 weight, any x layout, decode and prefill rows', () => {
    setBackend(backend);
    const arb = fc
      .tuple(
        fc.constantFrom(...dtypes),
        fc.oneof(arbDim(5), arbDim(40)),
        arbDim(300),
        arbDim(70),
        fc.boolean(),
        fc.nat(),
      )
      .chain(([dtype, rows, inF, outF, withBias, seed]) =>
        fc.tuple(
          fc.constant(randomHalf(dtype, [outF, inF], seed)),
          arbAnyLayout([rows, inF]),
          withBias ? arbAnyLayout([outF]) : fc.constant(null),
        ),
      );
    fc.assert(
      fc.property(arb, ([h, x, b]) => {
        const w = h.toFloat32();
        const y = linear(x, h, b);
        expect(sameBits(y.data, linear(x, w, b).data)).toBe(true);
        expectClose(y, refLinear(x, w, b), { rtol: 1e-4, atol: 2e-6 * (h.shape[1]! + 4) * 8 });
      }),
      { numRuns: 60 },
    );
  });

  it('keeps Inf, NaN, subnormals and signed zeros (all 16-bit patterns in W; NaN payloads may differ)', () => {
    setBackend(backend);
    for (const dtype of dtypes) {
      // every pattern (a permutation), with Inf/NaN kept only in the second half of the rows
      const all = allocU16(65536);
      const top = dtype === 'f16' ? 0x7c00 : 0x7f80;
      for (let i = 0; i < 65536; i++) {
        const p = (i * 40503) & 0xffff;
        all[i] = i < 32768 && (p & top) === top ? p & ~0x4000 : p;
      }
      const h = new HalfTensor(dtype, all, [512, 128]);
      for (const rows of [1, 3, 9]) {
        const x = randn([rows, 128], rows, 1e-3);
        const y = linear(x, h).data;
        expect(sameBitsOrNaN(y, linear(x, h.toFloat32()).data)).toBe(true);
        expect(y.some((v) => Number.isNaN(v)) && y.some((v) => Number.isFinite(v))).toBe(true);
      }
    }
  });

  it('decode with large, infinite or NaN inputs (the f16 kernel falls back from its scaled-x path)', () => {
    setBackend(backend);
    for (const dtype of dtypes) {
      const h = randomHalf(dtype, [67, 300], 5);
      for (const big of [65535, 65536, 3e38, Number.POSITIVE_INFINITY, Number.NaN]) {
        const x = randn([2, 300], 6);
        x.data[17] = big;
        x.data[300 + 5] = -big;
        expect(sameBitsOrNaN(linear(x, h).data, linear(x, h.toFloat32()).data)).toBe(true);
      }
    }
  });

  it('writes into an output (linearInto) and rejects wrong shapes naming them', () => {
    setBackend(backend);
    const h = randomHalf('bf16', [5, 7], 3);
    const x = randn([2, 7], 4);
    const out = Tensor.full([2, 5], Number.NaN);
    expect(linearInto(x, h, null, out)).toBe(out);
    expect(sameBits(out.data, linear(x, h.toFloat32()).data)).toBe(true);
    expect(() => linear(randn([2, 6], 1), h)).toThrow(/linear.*\[2, 6\].*\[5, 7\]/);
    expect(() => linear(x, new HalfTensor('f16', allocU16(7), [7]))).toThrow(/weight must be 2-d/);
    expect(() => linear(randn([0, 7], 1), h).shape).not.toThrow();
  });

  it('is bit-identical on 1 and 2 threads (the pool really splits)', () => {
    setBackend(backend);
    for (const [m, k, n] of [
      [131, 301, 257],
      [1, 1031, 2053],
      [3, 700, 1500],
    ] as const) {
      for (const dtype of dtypes) {
        const h = randomHalf(dtype, [n, k], m + k);
        const x = randn([m, k], 7);
        const args = {
          a: x.data,
          aOff: allocF64(1),
          aRowStride: k,
          aKStride: 1,
          b: allocF32(0),
          b16: h.data,
          bHalf: HALF_CODE[dtype],
          bOff: allocF64(1),
          bKStride: 1,
          bNStride: k,
          c: allocF32(m * n),
          bias: randn([n], 2).data,
          biasOff: 0,
          biasStride: 1,
          batch: 1,
          m,
          n,
          k,
        };
        setThreads(1);
        expect(runGemm(args)).toBe(1);
        const one = args.c.slice();
        setThreads(2);
        args.c.fill(0);
        expect(runGemm(args)).toBe(2);
        expect(sameBits(args.c, one)).toBe(true);
        expect(sameBits(one, linear(x, h.toFloat32(), randn([n], 2)).data)).toBe(true);
      }
    }
  });
});
