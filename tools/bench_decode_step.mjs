// `node tools/bench_decode_step.mjs [--shape llama-1.1b|opt-125m] [--threads 2] [--steps 20] [--rounds 3]
// [--formats f32,bf16,2:4,s70]` (after `npm run build`): the linear layers of a whole decode step at a model's shape,
// as `stade generate` runs them (every block's own resident weights, so they stream from DRAM; q/k/v and gate/up
// through `linearGroup`, which fuses dense weights into one pool call), without attention, norms or the head.
// Formats alternate step by step in one process (in forward, then reverse order; their weights allocated block by
// block in alternating order too: the format allocated first ran 4-8% faster on identical layers, from its place in
// memory); prints per format the median step time of its linear layers and per layer kind (calls grouped as the model groups them) the median time and its ratio to dense bf16 (`--ref`: to
// another format). `bf16-rm` / `f16-rm`: dense 16-bit held row-major whatever the row length (the layout before
// long rows were stored k-blocked, kblocked.ts), to measure one layout against the other.
import {
  HalfTensor,
  linearGroup,
  linearInto,
  makeResident,
  packResident,
  setBackend,
  setThreads,
  shutdownPool,
  Tensor,
} from '../packages/tensor/dist/index.js';
import { setKBlockForTests } from '../packages/tensor/dist/kblocked.js';
import { randn } from '../packages/tensor/dist/testing/index.js';
import { option } from './bench_best_ms.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const shape = opt('shape', 'llama-1.1b');
const threads = Number(opt('threads', '2'));
const steps = Number(opt('steps', '20'));
const names = opt('formats', 'bf16,2:4,s70').split(',');
const refName = opt('ref', 'bf16');

/** Per block: groups of layers sharing an input ([out, in] each), in the model's order. */
const SHAPES = {
  'llama-1.1b': {
    blocks: 22,
    groups: [
      ['qkv', [2048, 2048], [256, 2048], [256, 2048]],
      ['o', [2048, 2048]],
      ['gate+up', [5632, 2048], [5632, 2048]],
      ['down', [2048, 5632]],
    ],
  },
  'opt-125m': {
    blocks: 12,
    groups: [
      ['qkv', [768, 768], [768, 768], [768, 768]],
      ['o', [768, 768]],
      ['fc1', [3072, 768]],
      ['fc2', [768, 3072]],
    ],
  },
}[shape];

function lcg(seed) {
  let st = seed >>> 0;
  return () => {
    st = (st * 1664525 + 1013904223) >>> 0;
    return st / 2 ** 32;
  };
}

/** A pruned bf16 weight [n, k]: '2:4' (2 of every 4 zeroed), or a fraction p of random zeros; null: dense. */
function source(n, k, prune, seed) {
  const w = randn([n, k], seed, 0.05);
  const d = w.values();
  const rnd = lcg(seed + 1);
  if (prune === '2:4')
    for (let i = 0; i + 4 <= d.length; i += 4) {
      const a = Math.floor(rnd() * 4);
      d[i + a] = 0;
      d[i + ((a + 1 + Math.floor(rnd() * 3)) % 4)] = 0;
    }
  else if (prune) for (let i = 0; i < d.length; i++) if (rnd() < prune) d[i] = 0;
  return HalfTensor.fromFloat32(w, 'bf16');
}

/** A resident copy of h kept row-major (no k blocks, whatever the row length). */
function rowMajor(h) {
  setKBlockForTests(2 ** 30, 2 ** 30);
  const r = makeResident(h);
  setKBlockForTests();
  return r;
}
const f16 = (h) => HalfTensor.fromFloat32(h.toFloat32(), 'f16');

const FORMATS = {
  f32: { prune: null, make: (h) => makeResident(h.toFloat32()) },
  bf16: { prune: null, make: (h) => makeResident(h) },
  'bf16-rm': { prune: null, make: (h) => rowMajor(h) },
  f16: { prune: null, make: (h) => makeResident(f16(h)) },
  'f16-rm': { prune: null, make: (h) => rowMajor(f16(h)) },
  '2:4': { prune: '2:4', make: (h) => packResident(h, '2:4') },
  s50: { prune: 0.5, make: (h) => packResident(h, 'sparse') },
  s70: { prune: 0.7, make: (h) => packResident(h, 'sparse') },
};

setBackend('wasm');
setThreads(threads);
// per format: blocks x groups of resident weights (one source per layer shape, copied into every block); block by
// block, the formats in alternating order, so that every format's weights spread alike over the arenas' memory
const srcs = names.map(() => new Map());
const src = (f, n, k) => {
  const key = `${n}x${k}`;
  if (!srcs[f].has(key)) srcs[f].set(key, source(n, k, FORMATS[names[f]].prune, n + k));
  return srcs[f].get(key);
};
const models = names.map(() => []);
for (let b = 0; b < SHAPES.blocks; b++)
  for (const f of b % 2 ? [...names.keys()].reverse() : names.keys())
    models[f].push(SHAPES.groups.map(([, ...ls]) => ls.map(([n, k]) => FORMATS[names[f]].make(src(f, n, k)))));
const kinds = SHAPES.groups.map((g) => g[0]);
const xs = SHAPES.groups.map(([, [, k]]) => randn([1, k], 9));
const outs = SHAPES.groups.map(([, [n]]) => Tensor.zeros([1, n]));
const times = names.map(() => kinds.map(() => []));
const totals = names.map(() => []);
for (let s = 0; s < steps; s++)
  // the order of the formats alternates step by step (the one after another runs under other cache/DRAM state)
  (s % 2 ? [...names.keys()].reverse() : [...names.keys()]).forEach((f) => {
    const acc = kinds.map(() => 0);
    for (const block of models[f])
      block.forEach((ws, g) => {
        const t0 = performance.now();
        if (ws.length > 1) linearGroup(xs[g], ws, []);
        else linearInto(xs[g], ws[0], null, outs[g]);
        acc[g] += performance.now() - t0;
      });
    if (s === 0) return; // warm-up
    for (const [g, a] of acc.entries()) times[f][g].push(a);
    totals[f].push(acc.reduce((p, q) => p + q, 0));
  });
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const ib = names.indexOf(refName);
console.log(
  `${shape}: ${SHAPES.blocks} blocks, ${threads} threads, ${steps - 1} steps alternating formats (ms per step, median)`,
);
console.log(`${'format'.padEnd(8)} ${['all', ...kinds].map((k) => k.padStart(16)).join('')}`);
names.forEach((f, i) => {
  const cells = [totals[i], ...times[i]].map((t, g) => {
    const m = median(t);
    const ref = ib >= 0 ? median(g === 0 ? totals[ib] : times[ib][g - 1]) : m;
    return `${m.toFixed(2).padStart(8)} ${(ref / m).toFixed(2)}x`.padStart(16);
  });
  console.log(`${f.padEnd(8)} ${cells.join('')}`);
});
await shutdownPool();
