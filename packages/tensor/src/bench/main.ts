/**
 * `npm run bench [-- options]`: times the registered cases on the SIMD and plain kernels at 1 and 2 threads.
 *
 *   --json               one JSON object per line: {op, shape, threads, kernel, gflops, ms, cpuGflops, reps}
 *                        (cpuGflops: per second of process CPU time, a steadier figure on a busy machine)
 *   --filter a,b         only cases whose "op shape" or tags contain a or b (e.g. opt, decode, 5632, weights)
 *   --kernel wasm|js     one backend only
 *   --threads 1,2        thread counts
 *   --quick              shorter timing (a fifth of the default)
 *   --with <module>      import a module that registers more cases (addBenchCase), may repeat
 *   --compare <file>     JSON lines {op, shape, threads, gflops} from tools/bench_torch.py: adds a ratio column
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { availableCores } from '../config.js';
import { shutdownPool } from '../parallel/pool.js';
import { relaxedSimdSupported, simdSupported } from '../wasm/runtime.js';
import { addMatmulCases } from './matmul_cases.js';
import type { BenchKernel } from './registry.js';
import { type Baseline, type BenchOptions, baselineKey, formatTable, runBench } from './run.js';
import { addWeightsCases, formatWeightRatios } from './weights_cases.js';

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { json: boolean; opts: BenchOptions; withModules: string[]; compare?: string } {
  const opts: BenchOptions = {};
  const withModules: string[] = [];
  let json = false;
  let compare: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => argv[++i] ?? fail(`${a} needs a value`);
    if (a === '--json') json = true;
    else if (a === '--quick') opts.timeScale = 0.2;
    else if (a === '--filter') opts.filter = val().split(',');
    else if (a === '--kernel') {
      const k = val().split(',');
      for (const x of k) if (x !== 'wasm' && x !== 'js') fail(`--kernel: expected wasm or js, got '${x}'`);
      opts.kernels = k as BenchKernel[];
    } else if (a === '--threads') {
      opts.threads = val()
        .split(',')
        .map((t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 1) fail(`--threads: expected positive integers, got '${t}'`);
          return n;
        });
    } else if (a === '--with') withModules.push(val());
    else if (a === '--compare') compare = val();
    else fail(`unknown option '${a}' (see the header of bench/main.ts)`);
  }
  return { json, opts, withModules, compare };
}

function readBaseline(file: string): Baseline {
  const base: Baseline = new Map();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`--compare: cannot read ${file}: ${(e as Error).message}`);
  }
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { op: string; shape: string; threads: number; gflops: number };
      base.set(baselineKey(r.op, r.shape, r.threads), r.gflops);
    } catch {
      fail(`--compare: ${file} line ${i + 1} is not JSON`);
    }
  }
  return base;
}

async function main(): Promise<void> {
  const { json, opts, withModules, compare } = parseArgs(process.argv.slice(2));
  addMatmulCases();
  addWeightsCases();
  for (const m of withModules) await import(pathToFileURL(resolve(m)).href);
  const baseline = compare ? readBaseline(compare) : undefined;
  if (!json) {
    process.stdout.write(
      `stade engine bench: node ${process.version}, ${availableCores()} cores, wasm simd ${simdSupported()}, relaxed-simd fma ${relaxedSimdSupported()}\n`,
    );
  }
  const results = runBench({
    ...opts,
    onResult: (r) => {
      if (json) {
        const round = {
          gflops: Number(r.gflops.toFixed(3)),
          ms: Number(r.ms.toFixed(4)),
          cpuGflops: Number(r.cpuGflops.toFixed(3)),
        };
        process.stdout.write(`${JSON.stringify({ ...r, ...round })}\n`);
      } else process.stderr.write(`  ${r.op} ${r.shape} ${r.kernel} x${r.threads}: ${r.gflops.toFixed(2)} GFLOP/s\n`);
    },
  });
  if (!json) process.stdout.write(`\n${formatTable(results, baseline)}\n`);
  const ratios = formatWeightRatios(results);
  if (!json && ratios) process.stdout.write(`\nweight formats against dense float32, same run:\n${ratios}\n`);
  await shutdownPool();
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
