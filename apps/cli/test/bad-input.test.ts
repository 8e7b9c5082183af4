import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutateHeader, readRaw, renameTensorRaw, setHeaderLength, truncate } from './corrupt.js';
import { type CliRun, makeModelDir, makeText, runCli, runCliAsync } from './helpers.js';

// The bad-input corpus (issue 5): every case must end with exactly one `stade: error:` line naming the culprit,
// a non-zero exit code, no stack trace, nothing on stdout, and no output folder or partial file left behind.

const root = mkdtempSync(join(tmpdir(), 'stade-bad-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Ctx {
  dir: string;
  model: string;
  st: string;
  calib: string;
  eval: string;
  out: string;
  html: string;
}

interface Case {
  name: string;
  args: (c: Ctx) => string[];
  setup?: (c: Ctx) => void;
  /** What the error line must contain (the culprit: file, key, value or flag). */
  culprit: (c: Ctx) => RegExp | string;
  /** Expected exit code; default 1. */
  code?: number;
}

const Q = 'model.layers.0.self_attn.q_proj.weight';
const prune = (c: Ctx, ...extra: string[]) => [
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
const prune0 = (c: Ctx, ...extra: string[]) => [
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
const evalArgs = (c: Ctx, ...extra: string[]) => [
  'eval',
  '--model',
  c.model,
  '--data',
  c.eval,
  '--seqlen',
  '16',
  ...extra,
];
const inspect = (c: Ctx) => ['inspect', '--model', c.model];
const sweep = (c: Ctx, ...extra: string[]) => [
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
const esc = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const cfg = (c: Ctx) => join(c.model, 'config.json');
const editConfig = (c: Ctx, f: (o: Record<string, unknown>) => void) => {
  const o = JSON.parse(readFileSync(cfg(c), 'utf8'));
  f(o);
  writeFileSync(cfg(c), JSON.stringify(o));
};

const cases: Case[] = [
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

  // paths, configs and checkpoints (exit code 1)
  {
    name: 'model folder missing',
    args: (c) => evalArgs(c).map((a) => (a === c.model ? join(c.dir, 'nope') : a)),
    culprit: (c) => esc(join(c.dir, 'nope')),
  },
  { name: 'model path is a file', args: (c) => ['inspect', '--model', cfg(c)], culprit: (c) => esc(cfg(c)) },
  { name: 'config.json missing', setup: (c) => unlinkSync(cfg(c)), args: inspect, culprit: (c) => esc(cfg(c)) },
  {
    name: 'config.json invalid JSON',
    setup: (c) => writeFileSync(cfg(c), '{"model_type": "llama",'),
    args: evalArgs,
    culprit: (c) => esc(cfg(c)),
  },
  {
    name: 'config missing a key',
    setup: (c) => editConfig(c, (o) => delete o.hidden_size),
    args: inspect,
    culprit: () => /hidden_size/,
  },
  {
    name: 'unknown model_type',
    setup: (c) =>
      editConfig(c, (o) => {
        o.model_type = 'gpt9';
      }),
    args: (c) => prune(c),
    culprit: () => /gpt9/,
  },
  { name: 'no weights file', setup: (c) => unlinkSync(c.st), args: inspect, culprit: () => /model\.safetensors/ },
  {
    name: 'only pytorch_model.bin',
    setup: (c) => {
      unlinkSync(c.st);
      writeFileSync(join(c.model, 'pytorch_model.bin'), 'x');
    },
    args: inspect,
    culprit: () => /pytorch_model\.bin/,
  },
  { name: 'truncated checkpoint', setup: (c) => truncate(c.st, 0.6), args: evalArgs, culprit: (c) => esc(c.st) },
  { name: 'empty checkpoint file', setup: (c) => writeFileSync(c.st, ''), args: evalArgs, culprit: (c) => esc(c.st) },
  {
    name: 'header length past the end',
    setup: (c) => setHeaderLength(c.st, 10_000_000n),
    args: inspect,
    culprit: (c) => esc(c.st),
  },
  {
    name: 'header length over 100 MB',
    setup: (c) => setHeaderLength(c.st, 200_000_000n),
    args: inspect,
    culprit: (c) => esc(c.st),
  },
  {
    name: 'header not JSON',
    setup: (c) => {
      const b = readFileSync(c.st);
      b.write('#', 8);
      writeFileSync(c.st, b);
    },
    args: inspect,
    culprit: (c) => new RegExp(`${esc(c.st).source}.*JSON`),
  },
  {
    name: 'unknown dtype',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        h[Q]!.dtype = 'F33';
      }),
    args: evalArgs,
    culprit: () => /F33/,
  },
  {
    name: 'overlapping offsets',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        const k = 'model.layers.0.self_attn.k_proj.weight';
        const [b] = h[Q]!.data_offsets;
        const len = h[k]!.data_offsets[1] - h[k]!.data_offsets[0];
        h[k]!.data_offsets = [b, b + len];
      }),
    args: inspect,
    culprit: () => /overlap/,
  },
  {
    name: 'offsets outside the data',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        const n = readRaw(c.st).data.length;
        const len = h[Q]!.data_offsets[1] - h[Q]!.data_offsets[0];
        h[Q]!.data_offsets = [n - len + 4, n + 4];
      }),
    args: inspect,
    culprit: () => new RegExp(esc(Q).source),
  },
  {
    name: 'byte length not shape x dtype',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        h[Q]!.shape = [64, 63];
      }),
    args: (c) => prune(c),
    culprit: () => new RegExp(esc(Q).source),
  },
  {
    name: '__proto__ tensor name',
    setup: (c) => renameTensorRaw(c.st, Q, '__proto__'),
    args: inspect,
    culprit: () => /__proto__/,
  },
  {
    name: 'missing tensor',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        delete h['model.layers.1.mlp.up_proj.weight'];
      }),
    args: evalArgs,
    culprit: () => /model\.layers\.1\.mlp\.up_proj\.weight/,
  },
  {
    name: 'tensor of the wrong shape',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        h[Q]!.shape = [32, 128];
      }),
    args: inspect,
    culprit: () => new RegExp(`${esc(Q).source}.*\\[32, 128\\]|\\[32, 128\\].*${esc(Q).source}`),
  },
  {
    name: 'shard outside the folder',
    setup: (c) => {
      unlinkSync(c.st);
      writeFileSync(
        join(c.model, 'model.safetensors.index.json'),
        JSON.stringify({ weight_map: { [Q]: '../evil.safetensors' } }),
      );
    },
    args: inspect,
    culprit: () => /evil\.safetensors/,
  },
  {
    name: 'index names a missing shard',
    setup: (c) => {
      unlinkSync(c.st);
      writeFileSync(
        join(c.model, 'model.safetensors.index.json'),
        JSON.stringify({ weight_map: { [Q]: 'model-00001-of-00002.safetensors' } }),
      );
    },
    args: evalArgs,
    culprit: () => /model-00001-of-00002\.safetensors/,
  },
  {
    name: 'missing tokenizer.json',
    setup: (c) => unlinkSync(join(c.model, 'tokenizer.json')),
    args: evalArgs,
    culprit: (c) => esc(join(c.model, 'tokenizer.json')),
  },
  {
    name: 'bad tokenizer_config.json',
    setup: (c) => writeFileSync(join(c.model, 'tokenizer_config.json'), '[1,'),
    args: (c) => prune(c),
    culprit: (c) => esc(join(c.model, 'tokenizer_config.json')),
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
];

let n = 0;
function context(): Ctx {
  const dir = join(root, `case-${n++}`);
  const model = makeModelDir('llama-gqa', join(dir, 'model'));
  const c: Ctx = {
    dir,
    model,
    st: join(model, 'model.safetensors'),
    calib: join(dir, 'calib.txt'),
    eval: join(dir, 'eval.txt'),
    out: join(dir, 'out'),
    html: join(dir, 'report.html'),
  };
  writeFileSync(c.calib, makeText(400, 150, 3));
  writeFileSync(c.eval, makeText(100, 150, 4));
  return c;
}

interface Outcome {
  c: Ctx;
  before: Set<string>;
  r: CliRun;
}

/** Runs every case up front, a few processes at a time (the runs are independent; each has its own folder). */
const outcomes = new Map<string, Outcome>();
beforeAll(async () => {
  const queue = cases.map((k) => {
    const c = context();
    k.setup?.(c);
    return { k, c, before: new Set(readdirSync(c.dir)) };
  });
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const r = await runCliAsync(item.k.args(item.c), () => {});
      outcomes.set(item.k.name, { c: item.c, before: item.before, r });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}, 600_000);

describe('bad-input corpus', () => {
  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((k) => k.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, k) => {
    const { c, before, r } = outcomes.get(k.name)!;
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    if (k.code !== undefined) expect(r.code).toBe(k.code);
    else expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => /error/i.test(l));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^stade: error: \S/);
    const culprit = k.culprit(c);
    if (typeof culprit === 'string') expect(lines[0]).toContain(culprit);
    else expect(lines[0]).toMatch(culprit);
    expect(r.stderr).not.toMatch(/\n\s+at \S/); // no stack trace
    expect(r.stdout).toBe('');
    // nothing new left behind in the case folder (no output, no temp folders, no report)
    const after = readdirSync(c.dir).filter((e) => !before.has(e));
    expect(after).toEqual([]);
    if (k.name.startsWith('existing --out')) expect(readdirSync(c.out)).toEqual(['keep.txt']);
    expect(existsSync('/proc/stade-out')).toBe(false);
  });

  it('prints the stack trace with --debug', () => {
    const c = context();
    truncate(c.st, 0.5);
    const r = runCli(['--debug', ...inspect(c)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stade: error: /);
    expect(r.stderr).toMatch(/\n\s+at \S/);
  });
});
