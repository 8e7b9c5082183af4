#!/usr/bin/env node
// Prefill and decode of several models (or one model in several weight formats) in ONE process, their runs
// interleaved: every model prefills the same seeded prompt in turn (--prefills times, order rotated each round),
// then each decodes one step in turn (--steps rounds, order rotated). This VM's speed drifts by tens of percent
// within minutes; runs minutes apart (one process per model) carry that drift into their ratios, steps taken
// side by side do not. Used by tools/bench_pruned_speed.mjs for its "one process" ratios.
//
//   npm run build && node tools/bench_interleaved.mjs --model DIR:WEIGHTS --model DIR:WEIGHTS [...]
//     [--prompt-tokens 128] [--prefills 5] [--steps 96] [--settle-seconds 2] [--threads 2] [--json]
//
// Prints per model the median prefill and decode step (ms) and its speed over the first model's: the ratio of
// the medians and the median of the per-round ratios ("paired"). --json prints one object whose models carry
// every timing (prefill_ms, decode_ms: one entry per round), so that any pair can be compared.
import { openModel } from '../apps/cli/dist/commands/common.js';
import { decoderOf, forwardCachedTimed, settleDecode, warmUp } from '../apps/cli/dist/commands/decoding.js';
import { Arena, releaseResidentDecode, setThreads } from '../packages/tensor/dist/index.js';
import { applyWeightFormat, seededRandom } from '../packages/transformer/dist/index.js';
import { option } from './bench_best_ms.mjs';

const argv = process.argv.slice(2);
/** The integer after `--name`, or `def`; exits with a usage error when it is not a positive integer. */
function int(name, def) {
  const s = option(argv, name, String(def));
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) usage(`--${name} must be an integer >= 1, got '${s}'`);
  return v;
}
function usage(msg) {
  process.stderr.write(`bench_interleaved: ${msg}\n`);
  process.exit(2);
}
const specs = argv.flatMap((a, i) => (a === '--model' ? [argv[i + 1] ?? ''] : []));
if (specs.length < 1) usage('give at least one --model DIR:WEIGHTS');
const promptTokens = int('prompt-tokens', 128);
const prefills = int('prefills', 5);
const steps = int('steps', 96);
const settleSeconds = int('settle-seconds', 2);
setThreads(int('threads', 2));

const models = specs.map((spec) => {
  const at = spec.lastIndexOf(':');
  if (at <= 0) usage(`--model DIR:WEIGHTS expected, got '${spec}'`);
  const dir = spec.slice(0, at);
  const weights = spec.slice(at + 1);
  const { ckpt, model } = openModel(dir);
  const m = decoderOf(model, dir);
  applyWeightFormat(m, weights);
  warmUp(m);
  const cache = m.newCache(promptTokens + steps + 1);
  return { dir, weights, ckpt, m, cache, arena: new Arena(), next: 0, prefill: [], decode: [] };
});
// Compile the decode path (the models share its code) before anything is timed.
for (const s of models) settleDecode(s.m, { minSteps: 8, seconds: settleSeconds / models.length, maxSteps: 400 });
const rand = seededRandom(1);
const prompt = Int32Array.from({ length: promptTokens }, () => Math.floor(rand() * models[0].m.vocabSize));
/** The models in round r's order: rotated by r, so that each takes every place in turn. */
const order = (r) => models.map((_, i) => models[(i + r) % models.length]);
for (let r = 0; r < prefills; r++)
  for (const s of order(r)) {
    s.cache.reset();
    const t = forwardCachedTimed(s.m, prompt, s.cache, s.arena);
    s.prefill.push(t.seconds * 1000);
    s.next = t.id;
  }
for (let r = 0; r < steps; r++)
  for (const s of order(r)) {
    const t = forwardCachedTimed(s.m, Int32Array.of(s.next), s.cache, s.arena);
    s.decode.push(t.seconds * 1000);
    s.next = t.id;
  }

const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
/** B's speed over A's on one kind of run: ratio of the medians, and median of the per-round ratios. */
const speedup = (a, b) => ({ medians: median(a) / median(b), paired: median(a.map((x, i) => x / b[i])) });
const out = models.map((s) => ({
  model: s.dir,
  weights: s.weights,
  prefill_ms: s.prefill,
  decode_ms: s.decode,
  prefill_tokens_per_s: (promptTokens * 1000) / median(s.prefill),
  decode_tokens_per_s: 1000 / median(s.decode),
}));
if (argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ prompt_tokens: promptTokens, prefills, steps, models: out })}\n`);
} else {
  const [base] = models;
  for (const s of models) {
    const p = speedup(base.prefill, s.prefill);
    const d = speedup(base.decode, s.decode);
    process.stdout.write(
      `${s.dir} (${s.weights}): prefill ${median(s.prefill).toFixed(1)} ms (${p.medians.toFixed(3)}x, paired ` +
        `${p.paired.toFixed(3)}x), decode ${median(s.decode).toFixed(2)} ms (${d.medians.toFixed(3)}x, paired ` +
        `${d.paired.toFixed(3)}x)\n`,
    );
  }
  process.stdout.write(
    `speed over the first model; ${prefills} prefills of ${promptTokens} tokens, ${steps} steps each\n`,
  );
}
for (const s of models) {
  s.arena.dispose();
  s.cache.dispose();
}
releaseResidentDecode();
for (const s of models) s.ckpt.close();
process.exit(0);
