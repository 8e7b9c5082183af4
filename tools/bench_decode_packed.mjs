// `node tools/bench_decode_packed.mjs [--threads 2] [--ms 300] [--rounds 3] [--rows 1] [--copies 1] [--dram-mb 0]
// [--stat median|best] [--formats f32,bf16,2:4,s50,s70] [--shapes 768x768,...]` (after `npm run build`): decode
// (batch 1) `linear` over resident weights (as `stade generate` holds them) per format: dense f32, dense bf16, 2:4
// with bf16 values ('2:4'), with float32 values ('2:4f32'), unstructured bf16 at 50% / 70% ('s50', 's70');
// alternating in one process, the median call of each (median of the rounds). `--stat best` takes the fastest
// call instead, which on weights from DRAM overstates the compute-bound packed kernels' lead (2:4 over bf16 at
// 1 thread: 1.43x by the best call, 1.23x by the median one). Prints dense weights per second (G/s) and each
// format's speed over dense bf16 and dense f32 (when both are measured) per shape [out, in]. Checks every format
// against `linear` on the same weights widened to float32.
import {
  HalfTensor,
  linearInto,
  makeResident,
  packResident,
  releaseResident,
  setBackend,
  setThreads,
  shutdownPool,
  Tensor,
} from '../packages/tensor/dist/index.js';
import { randn } from '../packages/tensor/dist/testing/index.js';
import { bestMs, medianMs, option } from './bench_best_ms.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const threads = Number(opt('threads', '2'));
const minMs = Number(opt('ms', '300'));
const rounds = Number(opt('rounds', '3'));
const rows = Number(opt('rows', '1'));
// copies of every weight, used in turn: with enough of them the weights come from DRAM, as in a model
const copies0 = Number(opt('copies', '1'));
// or enough copies that each format's dense bf16 bytes exceed this many MB (weights from DRAM, not L3)
const dramMb = Number(opt('dram-mb', '0'));
const stat = opt('stat', 'median');
if (stat !== 'median' && stat !== 'best') throw new Error(`--stat median|best, got '${stat}'`);
const timeMs = stat === 'best' ? bestMs : medianMs;
const names = opt('formats', 'f32,bf16,2:4,s50,s70').split(',');
const shapes = opt('shapes', '768x768,3072x768,768x3072,2048x2048,5632x2048,2048x5632')
  .split(',')
  .map((s) => s.split('x').map(Number));

/** A seeded uniform generator in [0, 1). */
function lcg(seed) {
  let st = seed >>> 0;
  return () => {
    st = (st * 1664525 + 1013904223) >>> 0;
    return st / 2 ** 32;
  };
}

/** Zeros 2 of every 4 inputs of every row (random positions, seeded). */
function prune24(w, seed) {
  const [n, k] = w.shape;
  const d = w.values();
  const rnd = lcg(seed);
  for (let r = 0; r < n; r++)
    for (let g = 0; g + 4 <= k; g += 4) {
      const a = Math.floor(rnd() * 4);
      const b = (a + 1 + Math.floor(rnd() * 3)) % 4;
      d[r * k + g + a] = 0;
      d[r * k + g + b] = 0;
    }
  return w;
}

/** Zeros each weight with probability p (seeded). */
function pruneRandom(w, p, seed) {
  const d = w.values();
  const rnd = lcg(seed);
  for (let i = 0; i < d.length; i++) if (rnd() < p) d[i] = 0;
  return w;
}

setBackend('wasm');
setThreads(threads);
console.log(
  `node ${process.version}, ${threads} threads, x [${rows}, in], ${stat === 'best' ? 'best call' : 'median call'} over ${minMs} ms, ${stat === 'best' ? 'best' : 'median'} of ${rounds} alternating rounds, ${copies0} copies, dram-mb ${dramMb}`,
);
const ib = names.indexOf('bf16');
const i32 = names.indexOf('f32');
console.log(
  `     [out, in] ${names.map((s) => `${s.padStart(7)} G/s${ib >= 0 ? ' /bf16' : ''}${i32 >= 0 ? '  /f32' : ''}`).join(' ')}`,
);
for (const [n, k] of shapes) {
  const dense = randn([n, k], 2, 0.05);
  const p24 = HalfTensor.fromFloat32(prune24(randn([n, k], 3, 0.05), 4), 'bf16');
  const s50 = HalfTensor.fromFloat32(pruneRandom(randn([n, k], 5, 0.05), 0.5, 6), 'bf16');
  const s70 = HalfTensor.fromFloat32(pruneRandom(randn([n, k], 7, 0.05), 0.7, 8), 'bf16');
  const build = {
    f32: () => [makeResident(dense), dense],
    bf16: () => {
      const h = HalfTensor.fromFloat32(dense, 'bf16');
      return [makeResident(h), h.toFloat32()];
    },
    '2:4': () => [packResident(p24, '2:4'), p24.toFloat32()],
    '2:4f32': () => [packResident(p24.toFloat32(), '2:4'), p24.toFloat32()],
    s50: () => [packResident(s50, 'sparse'), s50.toFloat32()],
    s70: () => [packResident(s70, 'sparse'), s70.toFloat32()],
  };
  const copies = Math.max(copies0, Math.ceil((dramMb * 2 ** 20) / (2 * n * k)));
  const sets = Array.from({ length: copies }, () => names.map((f) => build[f]()[0]));
  const x = randn([rows, k], 1);
  const o = Tensor.zeros([rows, n]);
  const ref = Tensor.zeros([rows, n]);
  names.forEach((f, i) => {
    linearInto(x, build[f]()[1], null, ref);
    linearInto(x, sets[0][i], null, o);
    for (let j = 0; j < rows * n; j++)
      if (Math.abs(o.data[j] - ref.data[j]) > 1e-4 * (1 + Math.abs(ref.data[j])))
        throw new Error(`${f} [${n}, ${k}] column ${j}: ${o.data[j]} vs ${ref.data[j]}`);
  });
  const times = names.map(() => []);
  for (let r = 0; r < rounds; r++)
    names.forEach((_, i) => {
      let next = 0;
      times[i].push(timeMs(() => linearInto(x, sets[next++ % copies][i], null, o), minMs, 5));
    });
  const best = times.map((ts) => (stat === 'best' ? Math.min(...ts) : [...ts].sort((a, b) => a - b)[ts.length >> 1]));
  const cell = (ms) =>
    `${((rows * n * k) / ms / 1e6).toFixed(1).padStart(11)}${ib >= 0 ? `${(best[ib] / ms).toFixed(2).padStart(5)}x` : ''}${i32 >= 0 ? `${(best[i32] / ms).toFixed(2).padStart(5)}x` : ''}`;
  console.log(`${`[${n}, ${k}]`.padStart(14)} ${best.map(cell).join(' ')}`);
  for (const w of sets.flat()) releaseResident(w);
}
await shutdownPool();
