import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Backend, getBackend, getThreads, setBackend, setThreads } from '../config.js';
import type { MatmulArgs } from '../kernels/matmul_args.js';
import { matmulJsKernel, matvecJsKernel } from '../kernels/matmul_js.js';
import { matmulWasmColsKernel, matmulWasmKernel, matvecWasmKernel } from '../kernels/matmul_wasm.js';
import { shutdownPool } from '../parallel/pool.js';
import { allocF32, allocF64 } from '../storage.js';
import { arbDim, randn } from '../testing/index.js';
import { simdSupported } from '../wasm/runtime.js';
import { linear } from './matmul.js';
import { runGemm } from './matmul_dispatch.js';

const saved = { backend: getBackend(), threads: getThreads() };
afterEach(() => {
  setBackend(saved.backend);
  setThreads(saved.threads);
});
afterAll(() => shutdownPool());

function linearArgs(m: number, k: number, n: number, seed: number, bias: boolean): MatmulArgs {
  const x = randn([m, k], seed);
  const w = randn([n, k], seed + 1);
  const b = randn([n], seed + 2);
  const aOff = allocF64(1);
  const bOff = allocF64(1);
  return {
    a: x.data,
    aOff,
    aRowStride: k,
    aKStride: 1,
    b: w.data,
    bOff,
    bKStride: 1,
    bNStride: k,
    c: allocF32(m * n),
    bias: bias ? b.data : allocF32(0),
    biasOff: 0,
    biasStride: 1,
    batch: 1,
    m,
    n,
    k,
  };
}

type K = (args: MatmulArgs, r0: number, r1: number) => void;
const kernels: [string, K, boolean][] = [
  ['matmul.js', matmulJsKernel, false],
  ['matmul.matvecJs', matvecJsKernel, true],
  ...(simdSupported()
    ? ([
        ['matmul.wasm', matmulWasmKernel, false],
        ['matmul.wasmCols', matmulWasmColsKernel, true],
        ['matmul.matvecWasm', matvecWasmKernel, true],
      ] as [string, K, boolean][])
    : []),
];

describe.each(kernels)('%s', (_name, kernel, byColumn) => {
  it('gives bit-identical results for any split of its range', () => {
    fc.assert(
      fc.property(
        arbDim(70),
        arbDim(300),
        arbDim(70),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        fc.boolean(),
        (m, k, n, cuts, bias) => {
          const args = linearArgs(m, k, n, m * 7 + k, bias);
          const rows = byColumn ? n : m;
          kernel(args, 0, rows);
          const whole = args.c.slice();
          args.c.fill(Number.NaN);
          const points = [0, ...cuts.map((c) => Math.floor(c * rows)).sort((x, y) => x - y), rows];
          for (let i = 0; i + 1 < points.length; i++)
            if (points[i + 1]! > points[i]!) kernel(args, points[i]!, points[i + 1]!);
          expect(Buffer.from(args.c.buffer).equals(Buffer.from(whole.buffer))).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('thread count', () => {
  const backends: Backend[] = simdSupported() ? ['wasm', 'js'] : ['js'];
  it.each(backends)('linear is bit-identical on 1 and 2 threads (%s)', (backend) => {
    setBackend(backend);
    // big enough that the pool really splits it (checked through runGemm's thread count)
    for (const [m, k, n] of [
      [131, 301, 257],
      [1, 1031, 2053],
    ] as const) {
      const args = linearArgs(m, k, n, 5, true);
      setThreads(1);
      expect(runGemm(args)).toBe(1);
      const one = args.c.slice();
      setThreads(2);
      args.c.fill(0);
      expect(runGemm(args)).toBe(2);
      expect(Buffer.from(args.c.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    }
  });

  it('the public op agrees across thread counts', () => {
    const x = randn([3, 70, 129], 3);
    const w = randn([263, 129], 4);
    setThreads(1);
    const a = linear(x, w).data.slice();
    setThreads(2);
    const b = linear(x, w).data.slice();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });
});

describe.runIf(simdSupported())('SIMD gemm across row chunks and column blocks', () => {
  it('splitting rows or columns gives bit-identical results', () => {
    fc.assert(
      fc.property(arbDim(70), arbDim(600), arbDim(900), fc.boolean(), (m, k, n, bias) => {
        const args = linearArgs(m, k, n, m + k + n, bias);
        matmulWasmKernel(args, 0, m);
        const rows = args.c.slice();
        args.c.fill(Number.NaN);
        matmulWasmColsKernel(args, 0, n);
        expect(Buffer.from(args.c.buffer).equals(Buffer.from(rows.buffer))).toBe(true);
      }),
      { numRuns: 10 },
    );
  });

  it('matches the float64 matvec kernel when m > ROW_CHUNK, n > NC and k spans two KC blocks', () => {
    // 1031 rows (> 1024-row chunks), 777 columns (> 768-column blocks), k = 300 (a full and a partial k-block)
    const args = linearArgs(1031, 300, 777, 9, true);
    matmulWasmKernel(args, 0, 1031);
    const simd = args.c.slice();
    matvecJsKernel(args, 0, 777);
    let worst = 0;
    for (let i = 0; i < simd.length; i++)
      worst = Math.max(worst, Math.abs(simd[i]! - args.c[i]!) / (1 + Math.abs(args.c[i]!)));
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('plain kernels', () => {
  it('the JS gemm and the JS matvec kernel give bit-identical results (same float64 chain per element)', () => {
    fc.assert(
      fc.property(arbDim(9), arbDim(200), arbDim(40), fc.boolean(), (m, k, n, bias) => {
        const args = linearArgs(m, k, n, k + n, bias);
        matmulJsKernel(args, 0, m);
        const gemm = args.c.slice();
        args.c.fill(Number.NaN);
        matvecJsKernel(args, 0, n);
        expect(Buffer.from(args.c.buffer).equals(Buffer.from(gemm.buffer))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});
