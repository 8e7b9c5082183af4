import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { truncate } from './corrupt.js';
import { makeText } from './helpers.js';

// The table of the bad-input corpus (issue 5): each case sets up a broken input in its own folder and names
// what the single error line must mention.

/** The folder of one case: a good Llama fixture copy, texts, and output paths. */
export interface Ctx {
  dir: string;
  model: string;
  st: string;
  calib: string;
  eval: string;
  out: string;
  html: string;
}

/** One bad input. */
export interface Case {
  name: string;
  args: (c: Ctx) => string[];
  setup?: (c: Ctx) => void;
  /** What the error line must contain (the culprit: file, key, value or flag). */
  culprit: (c: Ctx) => RegExp | string;
  /** Expected exit code; default 1. */
  code?: number;
}

export const Q = 'model.layers.0.self_attn.q_proj.weight';
export const prune = (c: Ctx, ...extra: string[]) => [
  'prune',
  '--model',
  c.model,
  '--method',
  'wanda',
  '--sparsity',
  '0.5',
  '--calib',
  c.calib,
  '--nsamples',
  '2',
  '--seqlen',
  '16',
  '--out',
  c.out,
  ...extra,
];
export const prune0 = (c: Ctx, ...extra: string[]) => [
  'prune',
  '--model',
  c.model,
  '--calib',
  c.calib,
  '--nsamples',
  '2',
  '--seqlen',
  '16',
  '--out',
  c.out,
  ...extra,
];
export const evalArgs = (c: Ctx, ...extra: string[]) => [
  'eval',
  '--model',
  c.model,
  '--data',
  c.eval,
  '--seqlen',
  '16',
  ...extra,
];
export const inspect = (c: Ctx) => ['inspect', '--model', c.model];
export const sweep = (c: Ctx, ...extra: string[]) => [
  'sweep',
  '--model',
  c.model,
  '--calib',
  c.calib,
  '--eval',
  c.eval,
  '--nsamples',
  '2',
  '--seqlen',
  '16',
  '--methods',
  'wanda',
  '--sparsities',
  '0.5',
  '--patterns',
  'unstructured',
  ...extra,
];
export const analyze = (c: Ctx, ...extra: string[]) => [
  'analyze',
  '--model',
  c.model,
  '--calib',
  c.calib,
  '--nsamples',
  '2',
  '--heldout',
  '1',
  '--seqlen',
  '16',
  ...extra,
];
export const esc = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
export const cfg = (c: Ctx) => join(c.model, 'config.json');
export const editConfig = (c: Ctx, f: (o: Record<string, unknown>) => void) => {
  const o = JSON.parse(readFileSync(cfg(c), 'utf8'));
  f(o);
  writeFileSync(cfg(c), JSON.stringify(o));
};

/** Every case. */
/** Command-line, text and output cases. */
export const cases: Case[] = [
  // command line (exit code 2)
  { name: 'unknown command', args: () => ['frobnicate'], culprit: () => /unknown command 'frobnicate'/, code: 2 },
  { name: 'unknown flag', args: (c) => ['eval', '--modle', c.model], culprit: () => /--modle/, code: 2 },
  {
    name: 'prune without --out',
    args: (c) => ['prune', '--model', c.model, '--method', 'stade', '--sparsity', '0.5'],
    culprit: () => /--out/,
    code: 2,
  },
  {
    name: 'prune without --method',
    args: (c) => ['prune', '--model', c.model, '--sparsity', '0.5', '--out', c.out],
    culprit: () => /--method/,
    code: 2,
  },
  {
    name: 'sparsity 1',
    args: (c) => prune(c).map((a) => (a === '0.5' ? '1' : a)),
    culprit: () => /--sparsity 1 is outside \[0, 1\)/,
    code: 2,
  },
  {
    name: 'sparsity negative',
    args: (c) => prune(c).map((a) => (a === '0.5' ? '-0.1' : a)),
    culprit: () => /--sparsity -0.1/,
    code: 2,
  },
  {
    name: 'sparsity not a number',
    args: (c) => prune(c).map((a) => (a === '0.5' ? 'half' : a)),
    culprit: () => /'half'/,
    code: 2,
  },
  {
    name: 'N:M with another sparsity',
    args: (c) => prune(c, '--pattern', '2:4').map((a) => (a === '0.5' ? '0.6' : a)),
    culprit: () => /--sparsity 0.6 does not match --pattern 2:4/,
    code: 2,
  },
  {
    name: 'unknown method',
    args: (c) => prune0(c, '--method', 'bogus', '--sparsity', '0.5'),
    culprit: () => /'bogus' for --method/,
    code: 2,
  },
  { name: 'unknown pattern', args: (c) => prune(c, '--pattern', '2-4'), culprit: () => /'2-4' for --pattern/, code: 2 },
  {
    name: 'N:M with N >= M',
    args: (c) => prune0(c, '--method', 'wanda', '--pattern', '4:4'),
    culprit: () => /4:4/,
    code: 2,
  },
  { name: 'unknown group', args: (c) => prune(c, '--group', 'column'), culprit: () => /'column' for --group/, code: 2 },
  {
    name: 'unknown sampling',
    args: (c) => prune(c, '--sampling', 'greedy'),
    culprit: () => /'greedy' for --sampling/,
    code: 2,
  },
  {
    name: 'nsamples 0',
    args: (c) => prune(c).map((a, i, all) => (all[i - 1] === '--nsamples' ? '0' : a)),
    culprit: () => /--nsamples must be at least 1, got 0/,
    code: 2,
  },
  {
    name: 'nsamples above the limit',
    args: (c) => prune(c).map((a, i, all) => (all[i - 1] === '--nsamples' ? '100000' : a)),
    culprit: () => /--nsamples must be at most 65536/,
    code: 2,
  },
  {
    name: 'seqlen 0',
    args: (c) => evalArgs(c).map((a, i, all) => (all[i - 1] === '--seqlen' ? '0' : a)),
    culprit: () => /--seqlen must be at least 2, got 0/,
    code: 2,
  },
  {
    name: "seqlen above the model's limit",
    args: (c) => prune(c).map((a, i, all) => (all[i - 1] === '--seqlen' ? '129' : a)),
    culprit: (c) => new RegExp(`--seqlen 129 exceeds the model's max_position_embeddings 128 \\(${cfg(c)}\\)`),
    code: 2,
  },
  {
    name: 'threads 0',
    args: (c) => ['--threads', '0', ...inspect(c)],
    culprit: () => /--threads must be at least 1/,
    code: 2,
  },
  {
    name: 'OWL with N:M',
    args: (c) => prune0(c, '--method', 'wanda', '--pattern', '2:4', '--owl'),
    culprit: () => /--owl .*2:4/,
    code: 2,
  },
  {
    name: 'sweep sparsity out of range',
    args: (c) => sweep(c).map((a) => (a === '0.5' ? '0.5,1.5' : a)),
    culprit: () => /1\.5 is outside \[0, 1\)/,
    code: 2,
  },
  {
    name: 'sweep unknown method',
    args: (c) => sweep(c).map((a) => (a === 'wanda' ? 'wanda,nope' : a)),
    culprit: () => /'nope' for --methods/,
    code: 2,
  },
  {
    name: 'sweep bad pattern',
    args: (c) => sweep(c).map((a) => (a === 'unstructured' ? 'unstructured,7' : a)),
    culprit: () => /'7' for --patterns/,
    code: 2,
  },

  // text
  {
    name: 'eval text missing',
    args: (c) => evalArgs(c).map((a) => (a === c.eval ? join(c.dir, 'missing.txt') : a)),
    culprit: (c) => esc(join(c.dir, 'missing.txt')),
  },
  {
    name: 'calibration text missing',
    args: (c) => prune(c).map((a) => (a === c.calib ? join(c.dir, 'nope.jsonl') : a)),
    culprit: (c) => esc(join(c.dir, 'nope.jsonl')),
  },
  {
    name: 'non-UTF-8 eval text',
    setup: (c) => writeFileSync(c.eval, Buffer.from([0x77, 0x31, 0x20, 0xc3, 0x28])),
    args: evalArgs,
    culprit: (c) => new RegExp(`${esc(c.eval).source} is not valid UTF-8`),
  },
  {
    name: 'non-UTF-8 calibration text',
    setup: (c) => writeFileSync(c.calib, Buffer.from([0xff, 0xfe, 0x77])),
    args: (c) => prune(c),
    culprit: (c) => new RegExp(`${esc(c.calib).source} is not valid UTF-8`),
  },
  {
    name: 'bad jsonl line',
    setup: (c) => writeFileSync(join(c.dir, 'c.jsonl'), `{"text": "w1 w2"}\n{"content": 3}\n`),
    args: (c) => prune(c).map((a) => (a === c.calib ? join(c.dir, 'c.jsonl') : a)),
    culprit: (c) => esc(`${join(c.dir, 'c.jsonl')}:2`),
  },
  {
    name: 'calibration folder without .txt',
    setup: (c) => mkdirSync(join(c.dir, 'texts')),
    args: (c) => prune(c).map((a) => (a === c.calib ? join(c.dir, 'texts') : a)),
    culprit: (c) => esc(join(c.dir, 'texts')),
  },
  {
    name: 'too little calibration text (contiguous)',
    setup: (c) => writeFileSync(c.calib, makeText(20, 100)),
    args: (c) => prune(c, '--sampling', 'contiguous'),
    culprit: () => /found 20 tokens, need 32/,
  },
  {
    name: 'too little calibration text (random)',
    setup: (c) => writeFileSync(c.calib, makeText(16, 100)),
    args: (c) => prune(c),
    culprit: (c) => new RegExp(`${esc(c.calib).source}.*more than 16 tokens`),
  },
  {
    name: 'eval text shorter than a window',
    setup: (c) => writeFileSync(c.eval, makeText(10, 100)),
    args: evalArgs,
    culprit: (c) => new RegExp(`${esc(c.eval).source} has 10 tokens`),
  },
  { name: 'in % M != 0', args: (c) => prune0(c, '--method', 'stade', '--pattern', '3:5'), culprit: () => /5/ },

  // outputs
  {
    name: 'existing --out without --overwrite',
    setup: (c) => {
      mkdirSync(c.out);
      writeFileSync(join(c.out, 'keep.txt'), 'mine');
    },
    args: (c) => prune(c),
    culprit: (c) => new RegExp(`${esc(c.out).source} already exists`),
  },
  {
    name: 'output folder not writable',
    args: (c) => prune(c).map((a) => (a === c.out ? '/proc/stade-out' : a)),
    culprit: () => /\/proc/,
  },
  {
    name: 'output parent missing',
    args: (c) => prune(c).map((a) => (a === c.out ? join(c.dir, 'no', 'such', 'out') : a)),
    culprit: (c) => esc(join(c.dir, 'no', 'such')),
  },
  {
    name: '--out is a file',
    setup: (c) => writeFileSync(c.out, 'x'),
    args: (c) => prune(c, '--overwrite'),
    culprit: (c) => esc(c.out),
  },
  {
    name: 'html into a missing folder',
    args: (c) => sweep(c, '--html', join(c.dir, 'nope', 'r.html')),
    culprit: (c) => esc(join(c.dir, 'nope')),
  },
  {
    name: 'sweep on a corrupt checkpoint',
    setup: (c) => truncate(c.st, 0.3),
    args: (c) => sweep(c, '--html', c.html),
    culprit: (c) => esc(c.st),
  },
  {
    name: 'analyze sparsity that does not match the pattern',
    args: (c) => analyze(c, '--pattern', '2:4', '--sparsity', '0.6'),
    culprit: () => /--sparsity 0.6 does not match --pattern 2:4/,
    code: 2,
  },
  {
    name: 'analyze: too little calibration text for the held-out windows',
    args: (c) => analyze(c, '--sampling', 'contiguous').map((a, i, all) => (all[i - 1] === '--heldout' ? '40' : a)),
    culprit: () => /need 672 \(42 windows of 16 tokens\)/,
  },
  {
    name: 'analyze html into a missing folder',
    args: (c) => analyze(c, '--html', join(c.dir, 'nope', 'r.html')),
    culprit: (c) => esc(join(c.dir, 'nope')),
  },
  {
    name: 'analyze on a corrupt checkpoint',
    setup: (c) => truncate(c.st, 0.3),
    args: (c) => analyze(c, '--html', c.html),
    culprit: (c) => esc(c.st),
  },
];
