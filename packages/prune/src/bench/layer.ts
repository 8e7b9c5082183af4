// Per-layer SparseGPT benchmark (issue 9.5): one linear layer [out, in] with random weights, `--windows` random
// calibration windows of `--seqlen` tokens; times the Hessian (LayerStats) and the pruning (sparsegpt, 50%
// unstructured, blocksize 128) separately, best of `--reps`, and prints one JSON line per shape and thread count.
//   node packages/prune/dist/bench/layer.js [--layers 2048x2048,5632x2048,2048x5632] [--windows 8] [--seqlen 512]
//     [--threads 2] [--reps 1] [--precision float32|float64]
// tools/bench_sparsegpt.mjs runs it next to PyTorch's float32 SparseGPT (tools/bench_prune_torch.py --layers).
import { setThreads, Tensor } from '@stade/tensor';
import { sparsegpt } from '../sparsegpt.js';
import { LayerStats } from '../stats.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

/** Uniform [-1, 1) from a xorshift32 stream (fast enough for 10^8 values). */
function fill(t: Tensor, seed: number, gauss: boolean): Tensor {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const d = t.data;
  for (let k = 0; k < d.length; k++) {
    if (!gauss) d[k] = next() * 2 - 1;
    else d[k] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  }
  return t;
}

const layers = arg('layers', '2048x2048,5632x2048,2048x5632').split(',');
const windows = Number(arg('windows', '8'));
const seqlen = Number(arg('seqlen', '512'));
const threads = arg('threads', '2').split(',').map(Number);
const reps = Number(arg('reps', '1'));
const precision = arg('precision', 'float32') as 'float32' | 'float64';

for (const t of threads) {
  setThreads(t);
  for (const shape of layers) {
    const [rows, cols] = shape.split('x').map(Number) as [number, number];
    const w = fill(Tensor.zeros([rows, cols]), 3, false);
    const xs = Array.from({ length: windows }, (_, i) => fill(Tensor.zeros([seqlen, cols]), 11 + i, true));
    let best: { hessian: number; prune: number; total: number; cpuSeconds: number } | null = null;
    for (let r = 0; r < reps; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const st = new LayerStats(cols, { hessian: true });
      for (const x of xs) st.update(x);
      const h = st.finalHessian();
      const t1 = performance.now();
      sparsegpt(w, h, { sparsity: 0.5, precision });
      const t2 = performance.now();
      const c = process.cpuUsage(c0);
      const res = {
        hessian: (t1 - t0) / 1000,
        prune: (t2 - t1) / 1000,
        total: (t2 - t0) / 1000,
        cpuSeconds: (c.user + c.system) / 1e6,
      };
      if (!best || res.total < best.total) best = res;
    }
    const impl = `stade-${precision === 'float32' ? 'f32' : 'f64'}`;
    console.log(JSON.stringify({ impl, rows, cols, threads: t, windows, seqlen, ...best }));
  }
}
