#!/usr/bin/env node
// Decode (one token: x [1, in]) and prefill (x [128, in]) time of one linear layer per weight format and sparsity,
// on OPT-125M's and TinyLlama-1.1B's layer shapes: dense float32, dense bf16, 2:4 (at 50%), and the unstructured
// sparse format at 30..90% zeros. The rounds interleave the formats, and each figure is the median of its rounds,
// so that a loaded machine slows every format alike. This is what `--weights auto`'s threshold
// (packages/transformer/src/generate/weight-format.ts, AUTO_SPARSE_MIN) rests on.
//
//   npm run build && node tools/bench_weight_formats.mjs [--threads 2] [--rounds 15] [--shape INxOUT] [--json]
import { allocU16, encodeBf16, HalfTensor, linear, packWeight, setThreads, shutdownPool } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(args[i + 1]);
};
const threads = opt('threads', 2);
const rounds = opt('rounds', 15);
const json = args.includes('--json');
setThreads(threads);

// [in, out]
const only = args.indexOf('--shape'); // e.g. --shape 768x3072 (in x out)
const SHAPES =
  only >= 0
    ? [args[only + 1].split('x').map(Number)]
    : [
        [768, 768],
        [768, 3072],
        [3072, 768],
        [2048, 2048],
        [2048, 5632],
        [5632, 2048],
      ];
const SPARSITIES = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Zeros a random fraction `s` of every row (exactly round(s * in) per row), or 2 of every 4 for '2:4'. */
function prune(w, s, seed) {
  const [n, k] = w.shape;
  const d = w.values();
  let st = seed >>> 0;
  const rnd = () => {
    st = (st * 1664525 + 1013904223) >>> 0;
    return st / 2 ** 32;
  };
  const idx = new Int32Array(k);
  for (let r = 0; r < n; r++) {
    if (s === '2:4') {
      for (let g = 0; g < k; g += 4) {
        const a = Math.floor(rnd() * 4);
        const b = (a + 1 + Math.floor(rnd() * 3)) % 4;
        d[r * k + g + a] = 0;
        d[r * k + g + b] = 0;
      }
      continue;
    }
    for (let j = 0; j < k; j++) idx[j] = j;
    const m = Math.round(s * k);
    for (let j = 0; j < m; j++) {
      const t = j + Math.floor(rnd() * (k - j));
      const v = idx[t];
      idx[t] = idx[j];
      idx[j] = v;
      d[r * k + idx[j]] = 0;
    }
  }
  return w;
}

const bf16 = (w) => {
  const src = w.values();
  return new HalfTensor('bf16', encodeBf16(src, allocU16(src.length)), w.shape); // shared memory, as the model store
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const rows = [];
for (const [k, n] of SHAPES) {
  const dense = randn([n, k], 1, 0.02);
  const variants = [
    ['f32', 0, dense],
    ['bf16', 0, bf16(dense)],
    ['2:4', 0.5, packWeight(bf16(prune(randn([n, k], 2, 0.02), '2:4', 3)), '2:4')],
    ...SPARSITIES.map((s) => [`sparse`, s, packWeight(bf16(prune(randn([n, k], 4, 0.02), s, 5)), 'sparse')]),
  ];
  for (const [T, what] of [
    [1, 'decode'],
    [128, 'prefill'],
  ]) {
    const x = randn([T, k], 6);
    const times = variants.map(() => []);
    for (let r = 0; r < rounds + 2; r++) {
      variants.forEach(([, , w], v) => {
        const t0 = performance.now();
        const reps = T === 1 ? 20 : 1;
        for (let i = 0; i < reps; i++) linear(x, w);
        if (r >= 2) times[v].push((performance.now() - t0) / reps);
      });
    }
    const base = median(times[1]);
    variants.forEach(([format, sparsity], v) => {
      const ms = median(times[v]);
      rows.push({ what, in: k, out: n, format, sparsity, ms, vs_bf16: base / ms });
    });
  }
}
if (json) process.stdout.write(`${JSON.stringify({ threads, rounds, rows })}\n`);
else {
  console.log(`threads ${threads}, median of ${rounds} interleaved rounds; speed relative to dense bf16`);
  for (const r of rows)
    console.log(
      `${r.what.padEnd(7)} ${`${r.in}->${r.out}`.padEnd(10)} ${r.format.padEnd(6)} ${String(r.sparsity).padEnd(4)} ${r.ms.toFixed(3).padStart(9)} ms  ${r.vs_bf16.toFixed(2)}x`,
    );
}
shutdownPool();
