#!/usr/bin/env node
// Regenerates the measured part of docs/analyze.md (between the `analyze:begin` / `analyze:end` markers):
// `stade analyze` on both embedded models at 50/60/70% unstructured and 2:4 with the sweep's calibration settings,
// the perplexities of `stade sweep --methods wanda,stade,stadew` at the same settings, whether the recommendation
// picked the method with the lowest perplexity, the plots at 70%, and two diagnostics for the discussion (the final
// hidden state's and the logits' errors relative to token norms, and the perplexity on the held-out calibration windows, after
// pruning every block from the dense statistics as the sweep does).
// Usage (after `npm run build`, from the repository root): node tools/analyze_docs.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from '../apps/cli/dist/args.js';
import { analyzeCommand } from '../apps/cli/dist/commands/analyze.js';
import { calibrationWindows } from '../apps/cli/dist/commands/common.js';
import { sweepCommand } from '../apps/cli/dist/commands/sweep.js';
import { captureIo } from '../apps/cli/dist/io.js';
import { analyzePlots } from '../apps/cli/dist/report/analyze-html.js';
import { loadTokenizer } from '../apps/cli/dist/text.js';
import {
  applyPruning,
  collectDenseStats,
  restoreLinears,
  snapshotLinears,
  TokenRelativeMeter,
} from '../packages/prune/dist/index.js';
import { loadModel, perplexity } from '../packages/transformer/dist/index.js';

const repo = resolve(import.meta.dirname, '..');
const MODELS = ['stade-llama-tiny', 'stade-opt-tiny'];
const SETTINGS = [
  ['--sparsity', '0.5'],
  ['--sparsity', '0.6'],
  ['--sparsity', '0.7'],
  ['--pattern', '2:4'],
];
const METHODS = ['wanda', 'stade', 'stadew'];
const label = (s) => (s[0] === '--pattern' ? s[1] : `${Number(s[1]) * 100}%`);
const fmt = (v) => (v >= 100 ? v.toFixed(2) : v.toPrecision(4));

async function run(cmd, argv) {
  const io = captureIo();
  return cmd(parseArgs(argv).values, io);
}

/** Final hidden state error (relative to token norms) and perplexity on the held-out windows, per method. */
function diagnostics(dir, setting, nsamples, heldout) {
  const model = loadModel(dir);
  const tok = loadTokenizer(dir);
  const calib = join(repo, 'models/text/calibration.txt');
  const o = { nsamples: nsamples + heldout, seqlen: model.maxPositions, sampling: 'random', seed: 0 };
  const { windows } = calibrationWindows(tok, calib, model, o);
  const held = windows.slice(nsamples);
  const ids = new Int32Array(held.length * o.seqlen);
  held.forEach((w, k) => {
    ids.set(w, k * o.seqlen);
  });
  const stats = collectDenseStats(model, windows.slice(0, nsamples));
  const snap = snapshotLinears(model);
  const last = () =>
    held.map((w) => {
      let h = model.embed(w);
      for (let i = 0; i < model.numBlocks; i++) h = model.block(i, h);
      return { h, logits: model.head(h) };
    });
  const dense = last();
  const out = { dense: perplexity(model, ids, { seqlen: o.seqlen }).ppl, hidden: {}, logits: {}, ppl: {} };
  const opts = setting[0] === '--pattern' ? { pattern: setting[1] } : { sparsity: Number(setting[1]) };
  for (const m of METHODS) {
    restoreLinears(model, snap);
    applyPruning(model, stats, { method: m, ...opts });
    const meter = new TokenRelativeMeter();
    const lm = new TokenRelativeMeter();
    last().forEach((x, k) => {
      meter.add(dense[k].h, x.h);
      lm.add(dense[k].logits, x.logits);
    });
    out.hidden[m] = meter.relative();
    out.logits[m] = lm.relative();
    out.ppl[m] = perplexity(model, ids, { seqlen: o.seqlen }).ppl;
  }
  return out;
}

const md = [];
const cmp = [
  '| model | setting | `stade analyze` recommends | sweep perplexity wanda / stade / stadew | lowest | match |',
  '|---|---|---|---|---|---|',
];
const diag = [
  '| model | setting | last block output: error wanda / stade / stadew | logits: error wanda / stade / stadew | held-out calibration ppl (dense) wanda / stade / stadew |',
  '|---|---|---|---|---|',
];
const summaries = [];
const plots = [];
let matches = 0;
for (const name of MODELS) {
  const dir = join(repo, 'models', name);
  const sweep = await run(sweepCommand, ['sweep', '--model', dir, '--methods', METHODS.join(','), '--json']);
  const rows = sweep.sweeps[0].rows;
  for (const s of SETTINGS) {
    const a = await run(analyzeCommand, ['analyze', '--model', dir, ...s]);
    const r = a.report;
    const key = (x) =>
      s[0] === '--pattern' ? x.pattern === s[1] : x.pattern === 'unstructured' && x.sparsity === Number(s[1]);
    const ppl = Object.fromEntries(METHODS.map((m) => [m, rows.find((x) => x.method === m && key(x)).ppl]));
    const best = METHODS.reduce((b, m) => (ppl[m] < ppl[b] ? m : b), 'wanda');
    if (best === r.recommend) matches++;
    cmp.push(
      `| ${name} | ${label(s)} | ${r.recommend} | ${METHODS.map((m) => fmt(ppl[m])).join(' / ')} | ${best} | ${best === r.recommend ? 'yes' : '**no**'} |`,
    );
    const blocks = r.blocks.map((b) => `${b.index}: ${METHODS.map((m) => b.relative[m].toFixed(4)).join(' / ')}`);
    summaries.push(
      `- ${name}, ${label(s)}: ${r.summary.agree.length} of ${r.layers.length} layers ordered as predicted; ` +
        `stade's held-out error below wanda's in ${r.layers.filter((l) => l.measured.stade < l.measured.wanda).length}; ` +
        `block errors (wanda / stade / stadew) ${blocks.join('; ')}` +
        (r.summary.blockEffects.length ? `; block-level effect in block ${r.summary.blockEffects.join(', ')}` : '') +
        (r.summary.crossReverses.length
          ? `; cross terms reverse the ordering in ${r.summary.crossReverses.length} layers`
          : ''),
    );
    if (s[1] === '0.7')
      plots.push(
        `### ${name}, 70% unstructured`,
        '',
        ...analyzePlots(r, `${name} 70%`).flatMap((p) => [`<figure>${p}</figure>`, '']),
      );
    const d = diagnostics(dir, s, a.nsamples, a.heldout);
    diag.push(
      `| ${name} | ${label(s)} | ${METHODS.map((m) => d.hidden[m].toFixed(4)).join(' / ')} | ${METHODS.map((m) => d.logits[m].toFixed(4)).join(' / ')} | (${fmt(d.dense)}) ${METHODS.map((m) => fmt(d.ppl[m])).join(' / ')} |`,
    );
    process.stderr.write(`${name} ${label(s)}: analyze ${r.recommend}, sweep ${best}\n`);
  }
}
md.push(
  `Recommendation against the sweep: **${matches} of ${MODELS.length * SETTINGS.length}** settings.`,
  '',
  ...cmp,
  '',
  'Per setting, the per-layer ordering and the block errors relative to token norms (each block pruned alone, on its dense inputs):',
  '',
  ...summaries,
  '',
  'Diagnostics for the discussion below: every block pruned from the dense statistics (as the sweep does), on the 8',
  "held-out windows, the error relative to each token's norm of the last block's output and of the logits, and the",
  'perplexity of those windows:',
  '',
  ...diag,
  '',
  ...plots,
);
const page = join(repo, 'docs/analyze.md');
const src = readFileSync(page, 'utf8');
const begin = '<!-- analyze:begin (generated by tools/analyze_docs.mjs; do not edit) -->';
const end = '<!-- analyze:end -->';
const i = src.indexOf(begin);
const j = src.indexOf(end);
if (i < 0 || j < i) throw new Error(`${page}: markers not found`);
writeFileSync(page, `${src.slice(0, i + begin.length)}\n\n${md.join('\n')}\n${src.slice(j)}`);
console.log(`docs/analyze.md: ${matches} of ${MODELS.length * SETTINGS.length} recommendations match the sweep`);
