// `node tools/bench_decode_dense.mjs [--threads 2] [--ms 300] [--rounds 3] [--shapes 2048x2048,...]` (after
// `npm run build`): decode (batch 1) `linear` over dense float32 and dense bf16 weights held resident in the arena
// (as `stade generate` holds them), alternating in one process, best time of each; prints weight GB/s and the
// bf16 / f32 speed ratio per shape [out, in] (bytes bound: 2.0x).
import {
  HalfTensor,
  linearInto,
  makeResident,
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
const shapes = opt('shapes', '2048x2048,5632x2048,2048x5632,768x768,3072x768,50257x2048')
  .split(',')
  .map((s) => s.split('x').map(Number));

setBackend('wasm');
setThreads(threads);
console.log(
  `node ${process.version}, ${threads} threads, best of repetitions over ${minMs} ms, ${rounds} alternating rounds`,
);
console.log('     [out, in]   f32 ms  f32 GB/s   bf16 ms  bf16 GB/s  bf16/f32');
const ratios = [];
for (const [n, k] of shapes) {
  const w32 = randn([n, k], 2, 0.05);
  const f32 = makeResident(w32);
  const bf16 = makeResident(HalfTensor.fromFloat32(w32, 'bf16'));
  if (f32 === w32) throw new Error('the arena is unavailable: weights not resident');
  const x = randn([1, k], 1);
  const o = Tensor.zeros([1, n]);
  // same values: bf16 W widened is a float32 W; check the kernel against linear on it
  linearInto(x, bf16, null, o);
  const a = o.data.slice();
  linearInto(x, HalfTensor.fromFloat32(w32, 'bf16').toFloat32(), null, o);
  if (!Buffer.from(a.buffer).equals(Buffer.from(o.data.slice().buffer))) throw new Error(`${n}x${k}: bf16 differs`);
  const best = [Infinity, Infinity];
  for (let r = 0; r < rounds; r++)
    for (const [i, w] of [f32, bf16].entries())
      best[i] = Math.min(
        best[i],
        bestMs(() => linearInto(x, w, null, o), minMs, 5),
      );
  const gbs = best.map((ms, i) => (n * k * (i ? 2 : 4)) / ms / 1e6);
  ratios.push(best[0] / best[1]);
  console.log(
    `${`[${n}, ${k}]`.padStart(14)} ${best[0].toFixed(3).padStart(8)} ${gbs[0].toFixed(1).padStart(9)} ${best[1].toFixed(3).padStart(9)} ${gbs[1].toFixed(1).padStart(10)} ${(best[0] / best[1]).toFixed(2).padStart(9)}`,
  );
  releaseResident(f32);
  releaseResident(bf16);
}
console.log(
  `geometric mean bf16/f32: ${Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length).toFixed(2)}`,
);
await shutdownPool();
