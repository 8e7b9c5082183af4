import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/commands/spec.js';
import { fixtures, makeModelDir, makeText, runCli } from './helpers.js';

// End-to-end: the built CLI (apps/cli/dist/main.js) on the transformer test fixtures, with a word-level tokenizer.
let root: string;
let llama: string;
let opt: string;
let optF16: string;
let calib: string;
let evalText: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'stade-e2e-'));
  llama = makeModelDir('llama-gqa', join(root, 'llama'));
  opt = makeModelDir('opt-pre', join(root, 'opt'));
  optF16 = makeModelDir('opt-pre-f16', join(root, 'opt-f16'));
  calib = join(root, 'calib.txt');
  evalText = join(root, 'eval.txt');
  writeFileSync(calib, makeText(2500, 130, 1));
  writeFileSync(evalText, makeText(700, 130, 2));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const json = (s: string) => {
  const lines = s.trim().split('\n');
  expect(lines).toHaveLength(1); // exactly one JSON object on stdout
  return JSON.parse(lines[0]!);
};

describe('stade (built CLI)', () => {
  it('prints help generated from the spec, and the version', () => {
    const main = runCli(['--help']);
    expect(main.code).toBe(0);
    for (const c of COMMANDS) expect(main.stdout).toContain(c.name);
    for (const c of COMMANDS) {
      const h = runCli([c.name, '--help']);
      expect(h.code).toBe(0);
      for (const f of c.flags) expect(h.stdout).toContain(`--${f.name}`);
    }
    const v = runCli(['--version']);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('eval reproduces the PyTorch perplexity of the fixture (text -> tokenizer -> windows)', () => {
    for (const [dir, fixture] of [
      [llama, 'llama-gqa'],
      [opt, 'opt-pre'],
    ] as const) {
      const ref = JSON.parse(readFileSync(join(fixtures, fixture, 'reference.json'), 'utf8')).perplexity;
      const text = join(root, `${fixture}-ref.txt`);
      writeFileSync(text, (ref.ids as number[]).map((i) => `w${i}`).join(' '));
      const r = runCli(['eval', '--model', dir, '--data', text, '--seqlen', String(ref.seqlen), '--json']);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const o = json(r.stdout);
      expect(o).toMatchObject({
        windows: ref.windows,
        seqlen: ref.seqlen,
        tokens: ref.ids.length,
        model: dir,
        data: text,
      });
      expect(Math.abs(o.ppl - ref.ppl) / ref.ppl).toBeLessThan(1e-4);
      expect(o.seconds).toBeGreaterThan(0);
    }
  });

  it('inspect reports architecture, parameters, dtype and per-layer sparsity', () => {
    const r = runCli(['inspect', '--model', optF16, '--json']);
    expect(r.code).toBe(0);
    const o = json(r.stdout);
    expect(o.model_type).toBe('opt');
    expect(o.dtype).toBe('F16');
    expect(o.layers).toHaveLength(2 * 6);
    expect(o.sparsity).toBe(0);
    expect(o.parameters).toBeGreaterThan(10_000);
    const t = runCli(['inspect', '--model', llama]);
    expect(t.stdout).toMatch(/model\.layers\.1\.mlp\.down_proj +\[64, 112\] +F32 +0\.0%/);
  });

  it('prune stade 50%: JSON report, saved folder with biases declared, same perplexity and sparsity on reload', () => {
    const out = join(root, 'llama-stade');
    const html = join(root, 'prune.html');
    const r = runCli([
      'prune',
      '--model',
      llama,
      '--method',
      'stade',
      '--sparsity',
      '0.5',
      '--calib',
      calib,
      '--nsamples',
      '4',
      '--seqlen',
      '32',
      '--eval',
      evalText,
      '--out',
      out,
      '--json',
      '--html',
      html,
    ]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const o = json(r.stdout);
    expect(o).toMatchObject({ method: 'stade', sparsity: 0.5, pattern: 'unstructured', group: 'row', out });
    expect(o.layers).toHaveLength(14);
    for (const l of o.layers) {
      expect(l.zeros).toBe(0.5);
      expect(l.cosine).toBeGreaterThan(0);
      expect(l.mse).toBeGreaterThan(0);
      expect(typeof l.name).toBe('string');
    }
    expect(o.ppl.dense).toBeGreaterThan(1);
    expect(o.ppl.pruned).toBeGreaterThan(1);
    expect(readdirSync(out).sort()).toEqual([
      'README.md',
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.attention_bias).toBe(true);
    expect(cfg.mlp_bias).toBe(true);
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    expect(card).toContain('| method | stade |');
    expect(card).toContain('seed 0');
    expect(readFileSync(html, 'utf8')).toContain('<svg');
    const ins = json(runCli(['inspect', '--model', out, '--json']).stdout);
    expect(ins.sparsity).toBe(0.5);
    expect(ins.layers.every((l: { bias: boolean }) => l.bias)).toBe(true);
    const ev = json(runCli(['eval', '--model', out, '--data', evalText, '--seqlen', '32', '--json']).stdout);
    expect(Math.abs(ev.ppl - o.ppl.pruned) / o.ppl.pruned).toBeLessThan(1e-6);
    expect(readdirSync(root).filter((n) => n.includes('stade-tmp'))).toEqual([]);
  });

  it('prune with OWL allocates per-block sparsities averaging the requested one', () => {
    const out = join(root, 'opt-owl');
    const r = runCli([
      'prune',
      '--model',
      opt,
      '--method',
      'wanda',
      '--sparsity',
      '0.6',
      '--owl',
      '--calib',
      calib,
      '--nsamples',
      '2',
      '--seqlen',
      '16',
      '--out',
      out,
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const o = json(r.stdout);
    expect(o.owl).toBe(true);
    expect(o.owlAllocation.sparsities).toHaveLength(2);
    expect(Math.abs(o.zeros - 0.6)).toBeLessThan(0.04); // rows of 16-64 inputs: floor(in * s) per row
    const ins = json(runCli(['inspect', '--model', out, '--json']).stdout);
    expect(Math.abs(ins.sparsity - o.zeros)).toBeLessThan(1e-9);
  });

  it('prune wanda 2:4 keeps the F16 dtype; sparsegpt 4:8 shards a large output', () => {
    const out = join(root, 'opt-24');
    const r = runCli([
      'prune',
      '--model',
      optF16,
      '--method',
      'wanda',
      '--pattern',
      '2:4',
      '--calib',
      calib,
      '--nsamples',
      '2',
      '--seqlen',
      '16',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ pattern: '2:4', sparsity: 0.5, dtype: 'F16' });
    const ins = json(runCli(['inspect', '--model', out, '--json']).stdout);
    expect(ins.dtype).toBe('F16');
    expect(ins.sparsity).toBe(0.5);

    const out2 = join(root, 'opt-sgpt');
    const s = runCli([
      'prune',
      '--model',
      opt,
      '--method',
      'sparsegpt',
      '--pattern',
      '4:8',
      '--calib',
      calib,
      '--nsamples',
      '2',
      '--seqlen',
      '16',
      '--sampling',
      'contiguous',
      '--max-shard-mb',
      '0.03',
      '--out',
      out2,
    ]);
    expect(s.stderr).not.toMatch(/error/);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/saved /);
    const files = readdirSync(out2);
    expect(files).toContain('model.safetensors.index.json');
    expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
    const ins2 = json(runCli(['inspect', '--model', out2, '--json']).stdout);
    expect(ins2.sparsity).toBe(0.5);
    expect(existsSync(join(out2, 'config.json'))).toBe(true);
  });

  it('sweep prints a table and writes JSON and an HTML report', () => {
    const html = join(root, 'sweep.html');
    const args = [
      'sweep',
      '--model',
      opt,
      '--sparsities',
      '0.3,0.6',
      '--patterns',
      'unstructured,2:4',
      '--calib',
      calib,
      '--eval',
      evalText,
      '--nsamples',
      '2',
      '--seqlen',
      '16',
    ];
    const r = runCli([...args, '--methods', 'magnitude,wanda,stade,sparsegpt', '--json', '--html', html]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const all = json(r.stdout);
    expect(all.sweeps).toHaveLength(1);
    const o = all.sweeps[0];
    expect(o.model).toBe(opt);
    expect(o.rows).toHaveLength(4 * 3);
    expect(o.mode).toBe('dense-stats');
    for (const row of o.rows) {
      expect(row.ppl).toBeGreaterThan(1);
      expect(row.layers.every((l: { mse: number | null }) => typeof l.mse === 'number')).toBe(true);
    }
    const h = readFileSync(html, 'utf8');
    expect(h).toContain('Perplexity vs sparsity');
    expect(h.match(/<svg/g)!.length).toBeGreaterThan(3);
    const t = runCli([
      ...args.map((a) => (a === opt ? `${opt},${llama}` : a)),
      '--methods',
      'wanda,stade',
      '--mode',
      'sequential',
    ]);
    expect(t.code).toBe(0);
    expect(t.stdout.match(/^perplexity of /gm)).toHaveLength(2);
    expect(t.stdout).toMatch(/method +30\.0% +60\.0% +2:4/);
    expect(t.stdout).toMatch(/\nstade +\S+ +\S+ +\S+\n/);
  });
});
