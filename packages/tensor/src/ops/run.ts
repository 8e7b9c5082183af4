/**
 * How the ops run their row kernels. For now every kernel runs inline on the calling thread; the pool's
 * `parallelFor(name, args, rows, {costPerRow})` replaces the body of `runRows` once the kernels below are
 * registered under `name` in kernels/registry.ts. Kernels must keep outputs per row independent of the
 * chunking, so both paths give identical bits.
 */
import { Tensor } from '../tensor.js';

export type RowKernel<A> = (args: A, rowStart: number, rowEnd: number) => void;

/** Runs `kernel` over rows [0, rows). `name` is its registry key; `costPerRow` an estimate in ns. */
export function runRows<A>(_name: string, kernel: RowKernel<A>, args: A, rows: number, _costPerRow: number): void {
  if (rows > 0) kernel(args, 0, rows);
}

/** Storage and offset of `x`'s elements in row-major order (a contiguous copy when `x` is strided). */
export function dense(x: Tensor): { data: Float32Array; off: number } {
  if (x.contiguous) return { data: x.data, off: x.offset };
  return { data: x.clone().data, off: 0 };
}
