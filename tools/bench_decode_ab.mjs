// `node tools/bench_decode_ab.mjs --a DIR:WEIGHTS --b DIR:WEIGHTS [--prompt-tokens 128] [--steps 48] [--threads 2]`
// (after `npm run build`): two models (or one model in two weight formats) loaded in one process, each prefilled
// with the same seeded prompt, then decoding one step of A, one of B, in turn. On a machine whose speed drifts
// over minutes, interleaved steps compare far better than runs minutes apart. Prints the median step of each in
// ms and B's speed over A's: of the medians, and the median of the per-pair ratios.

import { openModel } from '../apps/cli/dist/commands/common.js';
import { decoderOf, forwardCachedTimed, warmUp } from '../apps/cli/dist/commands/decoding.js';
import { Arena, releaseResidentDecode, setThreads } from '../packages/tensor/dist/index.js';
import { applyWeightFormat, seededRandom } from '../packages/transformer/dist/index.js';
import { option } from './bench_best_ms.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const promptTokens = Number(opt('prompt-tokens', '128'));
const steps = Number(opt('steps', '48'));
setThreads(Number(opt('threads', '2')));

const sides = ['a', 'b'].map((s) => {
  const spec = opt(s, '');
  const at = spec.lastIndexOf(':');
  if (at < 0) throw new Error(`--${s} DIR:WEIGHTS expected, got '${spec}'`);
  const dir = spec.slice(0, at);
  const weights = spec.slice(at + 1);
  const { ckpt, model } = openModel(dir);
  const m = decoderOf(model, dir);
  applyWeightFormat(m, weights);
  warmUp(m);
  return { spec, ckpt, m, cache: m.newCache(promptTokens + steps + 1), arena: new Arena(), next: 0, t: [] };
});
const rand = seededRandom(1);
const prompt = Int32Array.from({ length: promptTokens }, () => Math.floor(rand() * sides[0].m.vocabSize));
for (const s of sides) s.next = forwardCachedTimed(s.m, prompt, s.cache, s.arena).id;
for (let i = 0; i < steps; i++)
  for (const s of i % 2 ? [...sides].reverse() : sides) {
    const r = forwardCachedTimed(s.m, Int32Array.of(s.next), s.cache, s.arena);
    s.t.push(r.seconds * 1000);
    s.next = r.id;
  }
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
const [a, b] = sides;
const pairs = a.t.map((x, i) => x / b.t[i]);
console.log(
  `A ${a.spec}: ${median(a.t).toFixed(2)} ms; B ${b.spec}: ${median(b.t).toFixed(2)} ms; B/A speed ${(median(a.t) / median(b.t)).toFixed(3)}x (paired ${median(pairs).toFixed(3)}x), ${steps} steps each`,
);
for (const s of sides) {
  s.arena.dispose();
  s.cache.dispose();
}
releaseResidentDecode();
for (const s of sides) s.ckpt.close();
process.exit(0);
