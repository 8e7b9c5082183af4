// `stade analyze` on both embedded models: the --json schema, and every figure recomputed directly here from the
// raw layer inputs (plain float64 loops over the tapped activations, not the library's analysis code).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outlierRatio, pruneLinear, StatsCollector } from '@stade/prune';
import type { Tensor } from '@stade/tensor';
import { loadModel } from '@stade/transformer';
import { describe, expect, it } from 'vitest';
import type { AnalyzeJson } from '../src/commands/analyze.js';
import { calibrationWindows } from '../src/commands/common.js';
import { loadTokenizer } from '../src/text.js';
import { repo, runCliAsync } from './helpers.js';

const NS = 4;
const HELD = 2;
const SEQ = 64;
const SPARSITY = 0.6;

/** Every tapped input of every linear layer of block i, as float64 rows. */
function tapInputs(model: ReturnType<typeof loadModel>, i: number, hs: Tensor[]) {
  const xs = new Map<string, number[][]>();
  const next = hs.map((h) =>
    model.block(i, h, {
      tap: (n, x) => {
        const [t, d] = x.shape as [number, number];
        const v = x.values();
        const rows = xs.get(n) ?? [];
        for (let r = 0; r < t; r++) rows.push(Array.from(v.subarray(r * d, (r + 1) * d)));
        xs.set(n, rows);
      },
    }),
  );
  return { xs, next };
}

/** Mean over tokens and outputs of (sum_j (W - Wp)_ij x_j + b_i - bp_i)^2, float64. */
function directMse(rows: number[][], w: Tensor, b: Tensor | null, wp: Tensor, bp: Tensor | null): number {
  const [out, inp] = w.shape as [number, number];
  const dv = w.values().map((a, k) => a - wp.values()[k]!);
  let s = 0;
  for (const x of rows)
    for (let i = 0; i < out; i++) {
      let e = (b ? b.values()[i]! : 0) - (bp ? bp.values()[i]! : 0);
      for (let j = 0; j < inp; j++) e += dv[i * inp + j]! * x[j]!;
      s += e * e;
    }
  return s / (rows.length * out);
}

for (const name of ['stade-llama-tiny', 'stade-opt-tiny']) {
  describe(`stade analyze on ${name}`, () => {
    it('prints the documented JSON, with figures equal to a direct computation', async () => {
      const dir = join(repo, 'models', name);
      const tmp = mkdtempSync(join(tmpdir(), 'stade-analyze-'));
      const html = join(tmp, 'report.html');
      const r = await runCliAsync(
        [
          'analyze',
          '--model',
          dir,
          '--json',
          '--threads',
          '1',
          '--nsamples',
          String(NS),
          '--heldout',
          String(HELD),
        ].concat(['--seqlen', String(SEQ), '--sparsity', String(SPARSITY), '--html', html]),
        () => {},
      );
      expect(r.code, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as AnalyzeJson;
      expect(Object.keys(got).sort()).toEqual(['layers', 'recommend']);
      const page = readFileSync(html, 'utf8');
      rmSync(tmp, { recursive: true, force: true });
      expect(page.match(/<svg /g)).toHaveLength(4); // non-centredness, errors, error ratio, blocks
      expect(page).toContain(`Recommendation: ${got.recommend}`);
      expect(['wanda', 'stade', 'stadew']).toContain(got.recommend);

      const model = loadModel(dir);
      const tok = loadTokenizer(dir);
      const calib = join(repo, 'models', 'text', 'calibration.txt');
      const opts = { nsamples: NS + HELD, seqlen: SEQ, sampling: 'random' as const, seed: 0 };
      const { windows } = calibrationWindows(tok, calib, model, opts);
      let hc = windows.slice(0, NS).map((ids) => model.embed(ids));
      let hh = windows.slice(NS).map((ids) => model.embed(ids));
      const names: string[] = [];
      for (let i = 0; i < model.numBlocks; i++) {
        const stats = new StatsCollector();
        const c = tapInputs(model, i, hc);
        for (const h of hc) model.block(i, h, { tap: stats.tap });
        const held = tapInputs(model, i, hh);
        for (const n of model.linearNames(i)) {
          names.push(n);
          const l = got.layers.find((x) => x.name === n)!;
          expect(Object.keys(l).sort()).toEqual(
            ['measured', 'name', 'noncentred', 'outlierShare', 'predicted', 'recommend'].sort(),
          );
          const X = c.xs.get(n)!;
          const N = X.length;
          const inp = X[0]!.length;
          const mean = new Array(inp).fill(0);
          const e2 = new Array(inp).fill(0);
          for (const x of X)
            for (let j = 0; j < inp; j++) {
              mean[j] += x[j]! / N;
              e2[j] += x[j]! ** 2 / N;
            }
          let nc = 0;
          for (let j = 0; j < inp; j++) if (e2[j] > 0) nc += mean[j] ** 2 / e2[j];
          expect(l.noncentred).toBeCloseTo(nc / inp, 9);
          const { weight: w, bias: b } = model.getLinear(n);
          expect(l.outlierShare).toBe(outlierRatio([{ weight: w, stats: stats.get(n) }], 5) / 100);
          const pw = pruneLinear(n, w, b, stats.get(n), { method: 'wanda', sparsity: SPARSITY });
          const ps = pruneLinear(n, w, b, stats.get(n), { method: 'stade', sparsity: SPARSITY });
          const [out] = w.shape as [number, number];
          let dw = 0;
          let ds = 0;
          for (let i2 = 0; i2 < out; i2++)
            for (let j = 0; j < inp; j++) {
              const a2 = w.get(i2, j) ** 2;
              if (pw.mask[i2 * inp + j]) dw += a2 * e2[j];
              if (ps.mask[i2 * inp + j]) ds += a2 * (e2[j] - mean[j] ** 2);
            }
          expect(Math.abs(l.predicted.wanda / (dw / out) - 1)).toBeLessThan(1e-6);
          expect(Math.abs(l.predicted.stade / (ds / out) - 1)).toBeLessThan(1e-6);
          const mw = directMse(held.xs.get(n)!, w, b, pw.weight, pw.bias);
          const ms = directMse(held.xs.get(n)!, w, b, ps.weight, ps.bias);
          expect(l.measured).not.toBeNull();
          expect(Math.abs(l.measured!.wanda / mw - 1)).toBeLessThan(1e-3);
          expect(Math.abs(l.measured!.stade / ms - 1)).toBeLessThan(1e-3);
          expect(l.recommend).toBe(l.measured!.stade < l.measured!.wanda ? 'stade' : 'wanda');
        }
        hc = c.next;
        hh = held.next;
      }
      expect(got.layers.map((l) => l.name)).toEqual(names);
    }, 300_000);
  });
}

describe('stade analyze --no-cross', () => {
  it('gives the same JSON figures without the cross terms, and shows them as - in the table', async () => {
    const dir = join(repo, 'models', 'stade-opt-tiny');
    const base = ['analyze', '--model', dir, '--threads', '1', '--nsamples', '2', '--heldout', '1', '--seqlen', '32'];
    const withCross = await runCliAsync([...base, '--json'], () => {});
    const without = await runCliAsync([...base, '--json', '--no-cross'], () => {});
    expect(withCross.code, withCross.stderr).toBe(0);
    expect(without.code, without.stderr).toBe(0);
    expect(JSON.parse(without.stdout)).toEqual(JSON.parse(withCross.stdout));
    const text = await runCliAsync([...base, '--no-cross'], () => {});
    expect(text.code, text.stderr).toBe(0);
    const row = text.stdout.split('\n').find((l) => l.includes('layers.0.self_attn.q_proj'))!;
    const cells = row.split(/\s+/).filter(Boolean);
    // layer, noncentred, outliers, |mean|, pred wanda, pred stade, cross w, cross s, ...
    expect(cells.slice(6, 8)).toEqual(['-', '-']);
    expect(text.stdout).not.toContain('NaN');
  }, 120_000);
});
