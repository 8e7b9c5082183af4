import { currentThreadTag } from './context.js';
import { parallelFor } from './pool.js';

/**
 * Small kernels used by the pool's own tests (they are real kernels, registered under `pool.*`).
 */

/** out[r*cols + c] = sum over j <= c of sin(x[r*cols + j]) * (r + 1): a row-local, order-sensitive loop. */
function prefixSinRows(a: { x: Float32Array; out: Float32Array; cols: number }, r0: number, r1: number): void {
  const { x, out, cols } = a;
  for (let r = r0; r < r1; r++) {
    let acc = 0;
    for (let c = 0; c < cols; c++) {
      acc += Math.sin(x[r * cols + c]!) * (r + 1);
      out[r * cols + c] = acc;
    }
  }
}

/** tags[r] = the thread tag (0 on the calling thread, the worker's threadId in a worker); also records chunk starts. */
function recordThread(a: { tags: Int32Array; starts: Int32Array }, r0: number, r1: number): void {
  const tag = currentThreadTag();
  for (let r = r0; r < r1; r++) a.tags[r] = tag;
  a.starts[r0] = 1;
}

/** Throws when its range contains row `failRow`, with a message naming the row. */
function failAt(a: { failRow: number; out: Float32Array }, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) {
    if (r === a.failRow) throw new Error(`pool.failAt: deliberate failure at row ${r}`);
    a.out[r] = r;
  }
}

/** Each row runs a nested parallelFor over `width` elements of `out` and records the threads it used. */
function nested(a: { used: Int32Array; out: Float32Array; width: number }, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) {
    const out = a.out.subarray(r * a.width, (r + 1) * a.width);
    a.used[r] = parallelFor('pool.failAt', { failRow: -1, out }, a.width, { costPerRow: 1e6 });
  }
}

export const poolTestKernels = {
  'pool.nested': nested,
  'pool.prefixSinRows': prefixSinRows,
  'pool.recordThread': recordThread,
  'pool.failAt': failAt,
};
