// Shared by tools/bench_prefill_gemm.mjs and tools/bench_decode_dense.mjs: command-line options and best-of timing.

/** The value after `--name` in argv, or `def`. */
export function option(argv, name, def) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
}

/** Best wall milliseconds of `fn` (one warm-up, then at least `minReps` runs and `minMs` of repetitions). */
export function bestMs(fn, minMs, minReps) {
  fn();
  let best = Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  let reps = 0;
  while (reps < minReps || performance.now() - t0 < minMs) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
    reps++;
  }
  return best;
}

/**
 * Median wall milliseconds of `fn` (one warm-up, then at least `minReps` runs and `minMs` of repetitions): the
 * typical call, where `bestMs` gives the luckiest one (on weights streamed from DRAM the two differ by up to
 * 1.4x, and by more for some kernels than for others).
 */
export function medianMs(fn, minMs, minReps) {
  fn();
  const ts = [];
  const t0 = performance.now();
  while (ts.length < minReps || performance.now() - t0 < minMs) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1];
}
