import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModelDir, makeText } from '../../../apps/cli/test/helpers.js';
import { RUNTIMES, type Runtime, repo, runOn, versionOf } from './runtimes.js';

// The built CLI end to end on every runtime and at 1 and 2 worker threads, on the OPT test fixture with a
// word-level tokenizer: eval, prune (wanda 50%, sparsegpt 2:4) with perplexity before/after, inspect of the
// saved folder. Results are compared with Node 20 at 1 thread.
const cli = join(repo, 'apps/cli/dist/main.js');
let root: string;
let model: string;
let calib: string;
let evalText: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'stade-runtimes-'));
  model = makeModelDir('opt-pre', join(root, 'opt'));
  calib = join(root, 'calib.txt');
  evalText = join(root, 'eval.txt');
  writeFileSync(calib, makeText(2500, 130, 1));
  writeFileSync(evalText, makeText(700, 130, 2));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Keys that are timings, not results (paths are compared with the temporary folder cut off). */
const IGNORED = new Set(['seconds', 'peakRssMb']); // wall time and resident memory vary run to run

/** Every number and string leaf of a JSON value, by path, without the IGNORED keys. */
function leaves(v: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) leaves(x, `${path}[${i}]`, out);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) if (!IGNORED.has(k)) leaves(x, path ? `${path}.${k}` : k, out);
  } else out.set(path, typeof v === 'string' ? v.replaceAll(root, '').replace(/^\/[a-z-]+-[12]\//, '/') : v);
  return out;
}

/** The largest relative difference between two JSON results (Infinity when their structure or strings differ). */
function maxRelDiff(a: unknown, b: unknown): { diff: number; where: string } {
  const la = leaves(a);
  const lb = leaves(b);
  if (la.size !== lb.size) return { diff: Infinity, where: `${la.size} vs ${lb.size} values` };
  let worst = { diff: 0, where: '' };
  for (const [k, x] of la) {
    const y = lb.get(k);
    if (typeof x === 'number' && typeof y === 'number') {
      const d = x === y ? 0 : Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-12);
      if (d > worst.diff) worst = { diff: d, where: `${k}: ${x} vs ${y}` };
    } else if (x !== y) return { diff: Infinity, where: `${k}: ${String(x)} vs ${String(y)}` };
  }
  return worst;
}

type Results = Record<string, unknown>;

function runAll(rt: Runtime, threads: number): Results {
  const out = join(root, `${rt.name}-${threads}`);
  mkdirSync(out, { recursive: true });
  const env = { STADE_THREADS: String(threads) };
  const go = (args: string[]) => {
    const r = runOn(rt, cli, [...args, '--json'], { env });
    expect(r.code, `${versionOf(rt)}: stade ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout.trim()) as unknown;
  };
  const prune = (method: string, extra: string[], dir: string) =>
    go([
      'prune',
      '--model',
      model,
      '--method',
      method,
      ...extra,
      '--calib',
      calib,
      '--nsamples',
      '8',
      '--seqlen',
      '64',
      '--eval',
      evalText,
      '--out',
      join(out, dir),
    ]);
  const gen = (dir: string, weights: string) => {
    const prompt = ['--prompt', 'Call me Ishmael.', '--max-new-tokens', '12', '--temperature', '0'];
    const r = go(['generate', '--model', dir, ...prompt, '--weights', weights]) as { text: string; ids: number[] };
    return { text: r.text, ids: r.ids }; // tokens/s vary run to run
  };
  return {
    eval: go(['eval', '--model', model, '--data', evalText, '--seqlen', '64']),
    wanda: prune('wanda', ['--sparsity', '0.5'], 'wanda'),
    sparsegpt: prune('sparsegpt', ['--pattern', '2:4'], 'sparsegpt'),
    inspect: go(['inspect', '--model', join(out, 'sparsegpt')]),
    // decode through the resident weight arena (shared wasm memory posted to the workers): dense and packed 2:4
    generate: gen(model, 'auto'),
    generate24: gen(join(out, 'sparsegpt'), 'sparse'),
  };
}

const results = new Map<string, Results>();

describe.each(RUNTIMES)('stade CLI on $name', (rt) => {
  it('eval, prune (wanda, sparsegpt 2:4), inspect and generate (dense, 2:4) give the same results with 1 and 2 threads', () => {
    const one = runAll(rt, 1);
    const two = runAll(rt, 2);
    expect(maxRelDiff(one, two)).toEqual({ diff: 0, where: '' });
    results.set(rt.name, one);
    const node = results.get('node');
    expect(node, 'Node 20 runs first').toBeDefined();
    const d = maxRelDiff(node, one);
    // Bun (relaxed_madd unfused, as Node 20's mul + add) gives Node 20's bits. V8's fused relaxed_madd (Node LTS,
    // Deno) rounds once per multiply-add: measured 8.5e-8 relative at most (a layer's mse); allowed 1e-6,
    // with the same strings (masks' sparsity, shapes, dtypes) and the two V8 runtimes bit-identical.
    if (rt.name === 'bun') expect(d).toEqual({ diff: 0, where: '' });
    else expect(d.diff, d.where).toBeLessThan(1e-6);
    if (rt.name === 'deno') expect(maxRelDiff(results.get('node-lts'), one)).toEqual({ diff: 0, where: '' });
  });
});
