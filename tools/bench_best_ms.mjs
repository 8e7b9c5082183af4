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
