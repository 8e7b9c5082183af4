import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The relaxed-SIMD (FMA) variant only validates behind a V8 flag on Node 20, so it is checked in a child
// process started with that flag, against the built kernels (`npm test` builds first).
const kernelsUrl = new URL('../../dist/kernels/matmul_wasm.js', import.meta.url);
const runtimeUrl = new URL('../../dist/wasm/runtime.js', import.meta.url);

const script = `
const { matmulWasmKernel, matvecWasmKernel } = await import(${JSON.stringify(kernelsUrl.href)});
const { relaxedSimdSupported, matmulWasm } = await import(${JSON.stringify(runtimeUrl.href)});
let s = 12345;
const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const res = { relaxed: relaxedSimdSupported(), fma: false, gemm: 0, matvec: 0 };
for (const [m, k, n] of [[37, 300, 29], [3, 517, 41]]) {
  const a = Float32Array.from({ length: m * k }, rnd), b = Float32Array.from({ length: n * k }, rnd);
  const args = { a, aOff: new Float64Array(1), aRowStride: k, aKStride: 1, b, bOff: new Float64Array(1), bKStride: 1,
    bNStride: k, c: new Float32Array(m * n), bias: new Float32Array(0), biasOff: 0, biasStride: 1, batch: 1, m, n, k };
  for (const [name, run] of [['gemm', () => matmulWasmKernel(args, 0, m)], ['matvec', () => matvecWasmKernel(args, 0, n)]]) {
    args.c.fill(NaN);
    run();
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let ref = 0, mag = 0;
      for (let p = 0; p < k; p++) { ref += a[i * k + p] * b[j * k + p]; mag += Math.abs(a[i * k + p] * b[j * k + p]); }
      const e = Math.abs(args.c[i * n + j] - ref) / mag;
      res[name] = Number.isNaN(e) ? Infinity : Math.max(res[name], e);
    }
  }
}
res.fma = matmulWasm().fma;
console.log(JSON.stringify(res));
`;

describe.runIf(existsSync(kernelsUrl))('relaxed-SIMD FMA variant', () => {
  it('is used when the flag enables it and matches the float64 reference', () => {
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { relaxed: boolean; fma: boolean; gemm: number; matvec: number };
    // Node 20-22 accept the flag; the variant must then be selected.
    expect(out.relaxed).toBe(true);
    expect(out.fma).toBe(true);
    expect(out.gemm).toBeLessThan(1e-5);
    expect(out.matvec).toBeLessThan(1e-5);
  });
});
