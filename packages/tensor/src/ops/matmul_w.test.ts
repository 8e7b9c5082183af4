import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { HalfTensor } from '../half.js';
import type { MatmulArgs } from '../kernels/matmul_args.js';
import { matmulWasmKernel } from '../kernels/matmul_wasm.js';
import { matmulWasmWColsKernel, matmulWasmWKernel } from '../kernels/matmul_wasm_w.js';
import { shutdownPool } from '../parallel/pool.js';
import { allocF32, allocF64 } from '../storage.js';
import { Tensor } from '../tensor.js';
import { arbDim, randn } from '../testing/index.js';
import { relaxedSimdSupported, simdSupported } from '../wasm/runtime.js';
import { linear, matmul } from './matmul.js';
import { pickMatmulKernel, runGemm, setGemmReadsWRows } from './matmul_dispatch.js';

const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
  setGemmReadsWRows(true);
});
afterAll(() => shutdownPool());

/** `x [m, k]` by W `[n, k]` read with row pitch `ns` >= k (a column slice of a wider W when ns > k). */
function args(m: number, k: number, n: number, seed: number, bias: boolean, ns = k): MatmulArgs {
  const x = randn([m, k], seed);
  const w = randn([n, ns], seed + 1);
  return {
    a: x.data,
    aOff: allocF64(1),
    aRowStride: k,
    aKStride: 1,
    b: w.data,
    bOff: allocF64(1),
    bKStride: 1,
    bNStride: ns,
    c: allocF32(m * n),
    bias: bias ? randn([n], seed + 2).data : allocF32(0),
    biasOff: 0,
    biasStride: 1,
    batch: 1,
    m,
    n,
    k,
  };
}

/** Naive reference: one float32 chain per element over k in order (Math.fround after every step), then + bias. */
function naive(p: MatmulArgs): Float32Array {
  const c = new Float32Array(p.m * p.n);
  for (let i = 0; i < p.m; i++)
    for (let j = 0; j < p.n; j++) {
      let s = 0;
      for (let kk = 0; kk < p.k; kk++)
        s = Math.fround(s + Math.fround(p.a[i * p.aRowStride + kk]! * p.b[j * p.bNStride + kk]!));
      c[i * p.n + j] = p.bias.length ? Math.fround(s + p.bias[j]!) : s;
    }
  return c;
}

const same = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe.runIf(simdSupported())('SIMD gemm reading W rows in place', () => {
  it('equals the naive float32 chain and the packing gemm bit for bit, any split of rows or columns', () => {
    fc.assert(
      fc.property(
        arbDim(40),
        arbDim(600),
        arbDim(90),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (m, k, n, pad, bias, cut) => {
          const p = args(m, k, n, m * 31 + k + n, bias, k + pad);
          const ref = naive(p);
          matmulWasmKernel(p, 0, m);
          // the packing gemm sums in the same order (checked where it has no FMA: the naive chain rounds twice)
          const packed = p.c.slice();
          p.c.fill(Number.NaN);
          const r = Math.floor(cut * m);
          matmulWasmWKernel(p, 0, r);
          matmulWasmWKernel(p, r, m);
          expect(same(p.c, packed)).toBe(true);
          p.c.fill(Number.NaN);
          const j = Math.floor(cut * n);
          matmulWasmWColsKernel(p, 0, j);
          matmulWasmWColsKernel(p, j, n);
          expect(same(p.c, packed)).toBe(true);
          // relaxed-SIMD FMA (when the runtime has it) may fuse: the naive chain rounds twice per step
          if (!relaxedSimdSupported()) expect(same(p.c, ref)).toBe(true);
          else for (let i = 0; i < ref.length; i++) expect(Math.abs(p.c[i]! - ref[i]!)).toBeLessThan(1e-3 * (1 + k));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('spans several row chunks, column blocks, W sub-blocks and k blocks', () => {
    // 263 rows (> 256-row chunks), 530 columns (> 512-column blocks), k = 700 (three k blocks)
    const p = args(263, 700, 530, 7, true);
    matmulWasmKernel(p, 0, p.m);
    const packed = p.c.slice();
    p.c.fill(Number.NaN);
    matmulWasmWKernel(p, 0, p.m);
    expect(same(p.c, packed)).toBe(true);
  });

  it('16-bit W (bf16, f16 with Inf, NaN, subnormals) equals the float32 W it widens to', () => {
    fc.assert(
      fc.property(arbDim(20), arbDim(300), arbDim(40), fc.constantFrom('bf16', 'f16'), (m, k, n, dtype) => {
        const x = randn([m, k], m + k);
        const w32 = randn([n, k], n, 3);
        const d = w32.data;
        if (d.length > 3) {
          d[0] = 1e-7; // f16 subnormal
          d[1] = Number.POSITIVE_INFINITY;
          d[2] = Number.NaN;
        }
        const h = HalfTensor.fromFloat32(w32, dtype as 'bf16' | 'f16');
        const wide = h.toFloat32();
        const got = linear(x, h).data;
        setGemmReadsWRows(false);
        expect(same(got, linear(x, h).data)).toBe(true);
        setGemmReadsWRows(true);
        expect(same(got, linear(x, wide).data)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('linear and batched Q K^T use it, identical on 1 and 2 threads', () => {
    setBackend('wasm');
    const p = args(131, 301, 257, 5, true);
    expect(pickMatmulKernel(p)).toBe('matmul.wasmWCols');
    setThreads(1);
    expect(runGemm(p)).toBe(1);
    const one = p.c.slice();
    setThreads(2);
    p.c.fill(0);
    expect(runGemm(p)).toBe(2);
    expect(same(p.c, one)).toBe(true);
    // batched scores: q [3, 70, 64] by k^T (a transposed view: kStride 1)
    const q = randn([3, 70, 64], 1);
    const kt = randn([3, 90, 64], 2).transpose(1, 2);
    setThreads(1);
    const s1 = matmul(q, kt).data.slice();
    setThreads(2);
    const s2 = matmul(q, kt).data;
    expect(same(s1, s2)).toBe(true);
    setGemmReadsWRows(false);
    expect(same(s1, matmul(q, kt).data)).toBe(true);
    expect(matmul(Tensor.zeros([2, 3]), Tensor.zeros([3, 0])).shape).toEqual([2, 0]);
  });
});
