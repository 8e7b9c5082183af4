/** Runs registered benchmark cases over kernels and thread counts and formats the results. */
import { getBackend, getThreads, setBackend, setThreads } from '../config.js';
import { simdSupported } from '../wasm/runtime.js';
import { type BenchCase, type BenchKernel, benchCases } from './registry.js';

export interface BenchResult {
  op: string;
  shape: string;
  threads: number;
  kernel: BenchKernel;
  gflops: number;
  /** Best time of one run, milliseconds. */
  ms: number;
  /**
   * GFLOP/s per second of process CPU time (all threads), from the repetition with the least CPU time:
   * what the kernels achieve while they actually run, useful when the machine is shared and wall time is noisy.
   */
  cpuGflops: number;
  /** Timed repetitions. */
  reps: number;
}

export interface BenchOptions {
  /** Only cases whose `op shape` or tags contain one of these substrings. */
  filter?: string[];
  kernels?: BenchKernel[];
  threads?: number[];
  /** Scales every case's minimum timed duration (e.g. 0.2 for a quick run). */
  timeScale?: number;
  /** Called after each measurement. */
  onResult?: (r: BenchResult) => void;
}

function matches(c: BenchCase, filter: string[] | undefined): boolean {
  if (!filter || filter.length === 0) return true;
  const hay = [`${c.op} ${c.shape}`, ...(c.tags ?? [])].join(' ');
  return filter.some((f) => hay.includes(f));
}

/** Times `run` (one warm-up, then repetitions until `minMs` have passed and at least 2 ran); best time. */
function timeIt(run: () => void, minMs: number): { ms: number; cpuMs: number; reps: number } {
  run();
  let best = Number.POSITIVE_INFINITY;
  let bestCpu = Number.POSITIVE_INFINITY;
  let reps = 0;
  const cpu = (globalThis as { process?: { cpuUsage?: (prev?: unknown) => { user: number; system: number } } }).process
    ?.cpuUsage;
  const start = performance.now();
  while (reps < 2 || performance.now() - start < minMs) {
    const c0 = cpu?.();
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
    if (cpu && c0) {
      const d = cpu(c0);
      bestCpu = Math.min(bestCpu, (d.user + d.system) / 1000);
    }
    reps++;
  }
  return { ms: best, cpuMs: bestCpu, reps };
}

/** Runs the selected cases; restores the backend and thread settings afterwards. */
export function runBench(opts: BenchOptions = {}): BenchResult[] {
  const saved = { backend: getBackend(), threads: getThreads() };
  const out: BenchResult[] = [];
  try {
    for (const c of benchCases()) {
      if (!matches(c, opts.filter)) continue;
      const run = c.setup();
      const kernels = (opts.kernels ?? c.kernels ?? ['wasm', 'js']).filter((k) => k === 'js' || simdSupported());
      for (const kernel of kernels) {
        setBackend(kernel);
        for (const threads of opts.threads ?? c.threads ?? [1, 2]) {
          setThreads(threads);
          const { ms, cpuMs, reps } = timeIt(run, (c.minMs ?? 1000) * (opts.timeScale ?? 1));
          const cpuGflops = Number.isFinite(cpuMs) && cpuMs > 0 ? c.flops / cpuMs / 1e6 : 0;
          const r: BenchResult = {
            op: c.op,
            shape: c.shape,
            threads,
            kernel,
            gflops: c.flops / ms / 1e6,
            ms,
            cpuGflops,
            reps,
          };
          out.push(r);
          opts.onResult?.(r);
        }
      }
    }
  } finally {
    setBackend(saved.backend);
    setThreads(saved.threads);
  }
  return out;
}

/** A reference figure (e.g. PyTorch) keyed by op, shape and threads. */
export type Baseline = Map<string, number>;
export const baselineKey = (op: string, shape: string, threads: number) => `${op}|${shape}|${threads}`;

/** Fixed-width table of results, with a ratio column when a baseline is given. */
export function formatTable(results: readonly BenchResult[], baseline?: Baseline): string {
  const head = ['op', 'shape', 'kernel', 'threads', 'GFLOP/s', 'ms', 'per CPU-s'];
  if (baseline) head.push('torch GFLOP/s', 'ratio');
  const rows = results.map((r) => {
    const row = [
      r.op,
      r.shape,
      r.kernel,
      String(r.threads),
      r.gflops.toFixed(2),
      r.ms.toFixed(3),
      r.cpuGflops.toFixed(2),
    ];
    if (baseline) {
      const t = baseline.get(baselineKey(r.op, r.shape, r.threads));
      row.push(t === undefined ? '-' : t.toFixed(2), t === undefined ? '-' : (r.gflops / t).toFixed(2));
    }
    return row;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
