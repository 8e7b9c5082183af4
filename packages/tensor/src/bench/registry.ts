/**
 * The benchmark registry. Cases are plain objects in one list; any package can add its own (for example
 * a transformer prefill) with `addBenchCase` before calling `runBench`, and `npm run bench -- --with <module>`
 * imports extra modules that register cases.
 */

/** Kernel backends a case is measured on. */
export type BenchKernel = 'wasm' | 'js';

export interface BenchCase {
  /** Operation name, e.g. 'linear'. */
  op: string;
  /** Human-readable shape, e.g. '2048x768 by 3072x768'. */
  shape: string;
  /** Floating-point operations of one run (GFLOP/s = flops / seconds / 1e9). */
  flops: number;
  /** Builds inputs once and returns the function to time (called after setBackend/setThreads). */
  setup: () => () => void;
  /** Backends to measure (default both). */
  kernels?: BenchKernel[];
  /** Thread counts to measure (default [1, 2]). */
  threads?: number[];
  /** Minimum total timed milliseconds per measurement (default 1000; more repetitions for short runs). */
  minMs?: number;
  /** Optional tags for --filter. */
  tags?: string[];
}

const cases: BenchCase[] = [];

/** Adds a case (names need not be unique, but `op` + `shape` should be, for comparisons). */
export function addBenchCase(c: BenchCase): void {
  if (!c.op || !c.shape || !(c.flops > 0) || typeof c.setup !== 'function') {
    throw new Error(
      `addBenchCase: a case needs op, shape, flops > 0 and setup(), got ${JSON.stringify({ op: c.op, shape: c.shape, flops: c.flops })}`,
    );
  }
  cases.push(c);
}

/** All registered cases, in registration order. */
export function benchCases(): readonly BenchCase[] {
  return cases;
}
