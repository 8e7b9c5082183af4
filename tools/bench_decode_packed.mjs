// `node tools/bench_decode_packed.mjs [--threads 2] [--ms 300] [--rounds 3] [--rows 1] [--copies 1] [--shapes 768x768,...]` (after
// `npm run build`): decode (batch 1) `linear` over resident weights (as `stade generate` holds them) per format:
// dense bf16, 2:4 with bf16 values, and with --f32 also dense float32 and 2:4 with float32 values; alternating
// in one process, best time of each. Prints dense weights per second (G/s) and each format's speed over dense
// bf16 per shape [out, in]. Checks every format against `linear` on the same weights widened to float32.
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
import { bestMs, option } from './bench_best_ms.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const threads = Number(opt('threads', '2'));
const minMs = Number(opt('ms', '300'));
const rounds = Number(opt('rounds', '3'));
const withF32 = argv.includes('--f32');
const rows = Number(opt('rows', '1'));
// copies of every weight, used in turn: with enough of them the weights come from DRAM, as in a model
const copies = Number(opt('copies', '1'));
const shapes = opt('shapes', '768x768,3072x768,768x3072,2048x2048,5632x2048,2048x5632')
  .split(',')
  .map((s) => s.split('x').map(Number));

/** Zeros 2 of every 4 inputs of every row (random positions, seeded). */
function prune24(w, seed) {
  const [n, k] = w.shape;
  const d = w.values();
  let st = seed >>> 0;
  const rnd = () => {
    st = (st * 1664525 + 1013904223) >>> 0;
    return st / 2 ** 32;
  };
  for (let r = 0; r < n; r++)
    for (let g = 0; g + 4 <= k; g += 4) {
      const a = Math.floor(rnd() * 4);
      const b = (a + 1 + Math.floor(rnd() * 3)) % 4;
      d[r * k + g + a] = 0;
      d[r * k + g + b] = 0;
    }
  return w;
}

setBackend('wasm');
setThreads(threads);
console.log(
  `node ${process.version}, ${threads} threads, x [${rows}, in], best over ${minMs} ms, ${rounds} alternating rounds`,
);
const names = ['bf16', '2:4 bf16', ...(withF32 ? ['f32', '2:4 f32'] : [])];
console.log(`     [out, in] ${names.map((s) => `${s.padStart(9)} G/s  vs bf16`).join('  ')}`);
for (const [n, k] of shapes) {
  const dense = randn([n, k], 2, 0.05);
  const pruned = HalfTensor.fromFloat32(prune24(randn([n, k], 3, 0.05), 4), 'bf16');
  const make = () => {
    const ws = [makeResident(HalfTensor.fromFloat32(dense, 'bf16')), packResident(pruned, '2:4')];
    if (withF32) ws.push(makeResident(dense), packResident(pruned.toFloat32(), '2:4'));
    return ws;
  };
  const sets = Array.from({ length: copies }, make);
  const ws = sets[0];
  const x = randn([rows, k], 1);
  const o = Tensor.zeros([rows, n]);
  const ref = Tensor.zeros([rows, n]);
  linearInto(x, pruned.toFloat32(), null, ref);
  for (const w of ws.slice(1).filter((_, i) => i % 2 === 0)) {
    linearInto(x, w, null, o);
    for (let j = 0; j < rows * n; j++)
      if (Math.abs(o.data[j] - ref.data[j]) > 1e-4 * (1 + Math.abs(ref.data[j])))
        throw new Error(`[${n}, ${k}] column ${j}: ${o.data[j]} vs ${ref.data[j]}`);
  }
  const best = ws.map(() => Infinity);
  for (let r = 0; r < rounds; r++)
    ws.forEach((_, i) => {
      let next = 0;
      best[i] = Math.min(
        best[i],
        bestMs(() => linearInto(x, sets[next++ % copies][i], null, o), minMs, 5),
      );
    });
  console.log(
    `${`[${n}, ${k}]`.padStart(14)} ${best.map((ms) => `${((rows * n * k) / ms / 1e6).toFixed(1).padStart(9)}    ${(best[0] / ms).toFixed(2).padStart(5)}x`).join('  ')}`,
  );
  for (const w of sets.flat()) releaseResident(w);
}
await shutdownPool();
