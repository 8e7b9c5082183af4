/**
 * How the ops run their row kernels: through the pool's `parallelFor` (kernels/registry.ts lists them by
 * name), which keeps small work on the calling thread and splits large work across workers. Kernels keep
 * every output row independent of the chunking, so any thread count gives identical bits.
 */
import { TensorError } from '../errors.js';
import { type KernelName, kernels } from '../kernels/registry.js';
import { parallelFor } from '../parallel/pool.js';
import type { Tensor } from '../tensor.js';

export type RowKernel<A> = (args: A, rowStart: number, rowEnd: number) => void;

/** Runs `kernel` over rows [0, rows). `name` is its registry key; `costPerRow` an estimate in ns. */
export function runRows<A>(name: string, kernel: RowKernel<A>, args: A, rows: number, costPerRow: number): void {
  if (rows <= 0) return;
  if ((kernels as Record<string, unknown>)[name] !== kernel) {
    throw new TensorError(`runRows: kernel '${name}' is not registered under that name in kernels/registry.ts`);
  }
  parallelFor(name as KernelName, args as never, rows, { costPerRow });
}

/** Storage and offset of `x`'s elements in row-major order (a contiguous copy when `x` is strided). */
export function dense(x: Tensor): { data: Float32Array; off: number } {
  if (x.contiguous) return { data: x.data, off: x.offset };
  return { data: x.clone().data, off: 0 };
}
