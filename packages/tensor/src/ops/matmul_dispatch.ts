/**
 * Chooses the matmul kernel (SIMD or plain; gemm or the few-rows matvec path) and runs it on the pool.
 * The choice depends only on the shapes/strides and the backend switch, never on the thread count, so
 * results are bit-identical for any number of threads.
 */
import { resolveBackend } from '../config.js';
import type { MatmulArgs } from '../kernels/matmul_args.js';
import { parallelFor } from '../parallel/pool.js';

/** At most this many C rows (batch * m) use the matvec kernels when B's k stride is 1 (W rows, as in linear). */
export const MATVEC_MAX_ROWS = 4;
/** Largest B (k * n elements) the plain axpy kernel takes (beyond, the SIMD gemm's packing pays off). */
const AXPY_MAX = 1 << 19;

export type MatmulKernelName =
  | 'matmul.wasm'
  | 'matmul.wasmCols'
  | 'matmul.wasmW'
  | 'matmul.wasmWCols'
  | 'matmul.js'
  | 'matmul.matvecWasm'
  | 'matmul.matvecJs'
  | 'matmul.axpy';

let gemmW = true;

/**
 * Whether the SIMD gemm reads a B with kStride 1 (W rows) in place (`matmul.wasmW*`, the default) or packs it
 * into panels (`matmul.wasm*`). Both give bit-identical results; the switch exists to measure one against the other.
 */
export function setGemmReadsWRows(on: boolean): void {
  gemmW = on;
}

/** The kernel `runGemm` would use for these arguments under the current backend. */
export function pickMatmulKernel(args: MatmulArgs): MatmulKernelName {
  const wasm = resolveBackend() === 'wasm';
  const matvec = args.batch * args.m <= MATVEC_MAX_ROWS && args.bKStride === 1;
  if (matvec) return wasm ? 'matmul.matvecWasm' : 'matmul.matvecJs';
  if (!wasm) return 'matmul.js';
  // Few rows against a small float32 B read along its rows (attention's probabilities x cached values): axpy
  // passes over B in place, instead of packing B for the gemm on every decode step.
  if (args.m <= MATVEC_MAX_ROWS && args.bNStride === 1 && !args.bHalf && args.k * args.n <= AXPY_MAX)
    return 'matmul.axpy';
  // One B and at least as many columns as rows: split columns, so that threads share the packing of B.
  const cols = args.batch === 1 && args.n >= args.m;
  if (gemmW && args.bKStride === 1 && args.k > 0) return cols ? 'matmul.wasmWCols' : 'matmul.wasmW';
  return cols ? 'matmul.wasmCols' : 'matmul.wasm';
}

/** A cost per output column that splits a matrix-vector product over a resident W across the threads. */
export function residentCost(cost: number, args: { n: number; bArena?: number; vArena?: number }): number {
  const resident = (args.bArena ?? -1) >= 0 || (args.vArena ?? -1) >= 0;
  return resident && args.n >= 64 ? Math.max(cost, 1e6 / args.n) : cost;
}

/** Runs C = A B (+ bias) described by `args`; returns the number of threads used. */
export function runGemm(args: MatmulArgs): number {
  const rows = args.batch * args.m;
  if (rows === 0 || args.n === 0) return 1;
  const name = pickMatmulKernel(args);
  const flopsPerRow = 2 * args.n * Math.max(args.k, 1);
  switch (name) {
    case 'matmul.wasm':
    case 'matmul.wasmW':
      return parallelFor(name, args, rows, { costPerRow: flopsPerRow / 25, align: 4 });
    case 'matmul.wasmCols':
    case 'matmul.wasmWCols':
      return parallelFor(name, args, args.n, { costPerRow: (2 * rows * Math.max(args.k, 1)) / 25, align: 64 });
    case 'matmul.js':
      return parallelFor(name, args, rows, { costPerRow: flopsPerRow / 3, align: 3 });
    case 'matmul.matvecWasm':
      // memory-bound: one W row (4k bytes) per column at ~10 GB/s
      // resident W: always split (the workers poll for work during decode, so a split costs a few µs)
      return parallelFor(name, args, args.n, { costPerRow: residentCost((0.4 + rows / 15) * args.k, args), align: 16 });
    case 'matmul.axpy':
      return parallelFor(name, args, args.n, { costPerRow: 2 * rows * Math.max(args.k, 1), align: 16 });
    case 'matmul.matvecJs':
      return parallelFor(name, args, args.n, { costPerRow: 2 * args.k * rows });
  }
}
