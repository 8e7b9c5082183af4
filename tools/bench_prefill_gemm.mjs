// `node tools/bench_prefill_gemm.mjs [--rows 16,64,128,512] [--threads 1,2] [--dtype f32,bf16] [--ms 400] [--shape opt|llama]`
// (after `npm run build`): `linear` GFLOP/s at prefill sizes on OPT-125M's and the 1.1B shape's layers, with the
// SIMD gemm packing W into panels on every call (`packed`, the old path) against reading W rows in place
// (`in-place`), back to back in one process, alternating, best of the repetitions. Results are bit-identical
// (checked here on every case before timing). Print: one table row per layer, rows, dtype and thread count.
import { HalfTensor, linearInto, setBackend, setThreads, shutdownPool, Tensor } from '../packages/tensor/dist/index.js';
import { setGemmReadsWRows } from '../packages/tensor/dist/ops/matmul_dispatch.js';
import { randn } from '../packages/tensor/dist/testing/index.js';
import { bestMs, option } from './bench_best_ms.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const rowsList = opt('rows', '16,64,128,512').split(',').map(Number);
const threadsList = opt('threads', '1,2').split(',').map(Number);
const dtypes = opt('dtype', 'f32,bf16').split(',');
const minMs = Number(opt('ms', '400'));
const shapeSel = opt('shape', 'opt,llama').split(',');
const layers = [
  ['opt', 'q/k/v/o', 768, 768],
  ['opt', 'fc1', 768, 3072],
  ['opt', 'fc2', 3072, 768],
  ['llama', 'q/o', 2048, 2048],
  ['llama', 'k/v', 2048, 256],
  ['llama', 'gate/up', 2048, 5632],
  ['llama', 'down', 5632, 2048],
].filter((l) => shapeSel.includes(l[0]));

setBackend('wasm');
const out = [];
console.log(`node ${process.version}; best of repetitions over ${minMs} ms, packed and in-place alternating twice`);
console.log('shape   layer    in    out  rows dtype thr  packed GF/s  in-place GF/s  ratio');
for (const [shape, name, k, n] of layers) {
  const w32 = randn([n, k], 2, 0.05);
  const bias = randn([n], 3);
  for (const dtype of dtypes) {
    const w = dtype === 'f32' ? w32 : HalfTensor.fromFloat32(w32, dtype);
    for (const rows of rowsList) {
      const x = randn([rows, k], 1);
      const o = Tensor.zeros([rows, n]);
      // bit-identity check
      setThreads(2);
      setGemmReadsWRows(false);
      linearInto(x, w, bias, o);
      const ref = o.data.slice();
      setGemmReadsWRows(true);
      linearInto(x, w, bias, o);
      if (!Buffer.from(ref.buffer).equals(Buffer.from(o.data.slice().buffer)))
        throw new Error(`${name} ${rows} ${dtype}: results differ`);
      for (const thr of threadsList) {
        setThreads(thr);
        const best = [Infinity, Infinity];
        for (let round = 0; round < 2; round++)
          for (const [i, on] of [false, true].entries()) {
            setGemmReadsWRows(on);
            best[i] = Math.min(
              best[i],
              bestMs(() => linearInto(x, w, bias, o), minMs, 3),
            );
          }
        const gf = best.map((ms) => (2 * rows * n * k) / ms / 1e6);
        out.push({ shape, name, k, n, rows, dtype, thr, packed: gf[0], inPlace: gf[1] });
        console.log(
          `${shape.padEnd(6)} ${name.padEnd(8)} ${String(k).padStart(5)} ${String(n).padStart(5)} ${String(rows).padStart(5)} ${dtype.padEnd(5)} ${String(thr).padStart(3)} ${gf[0].toFixed(1).padStart(12)} ${gf[1].toFixed(1).padStart(14)} ${(gf[1] / gf[0]).toFixed(2).padStart(6)}`,
        );
      }
    }
  }
}
await shutdownPool();
