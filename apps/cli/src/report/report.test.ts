import { describe, expect, it } from 'vitest';
import { captureIo } from '../io.js';
import { pruneHtml, sweepHtml } from './html.js';
import { fmtDuration, Progress } from './progress.js';
import { linePlot, niceTicks } from './svg.js';
import { renderTable } from './table.js';
import type { PruneResult, SweepResult } from './types.js';

const layers = [
  { name: 'model.layers.0.self_attn.q_proj', zeros: 0.5, mse: 1e-3, cosine: 0.99 },
  { name: 'model.layers.0.mlp.down_proj', zeros: 0.5, mse: 2e-2, cosine: 0.95 },
];
const calibration = { source: 'c.txt', nsamples: 4, seqlen: 16, sampling: 'random', seed: 0, tokens: 64 };

describe('reports', () => {
  it('renders aligned tables', () => {
    const t = renderTable(
      [{ header: 'method' }, { header: 'ppl', align: 'right' }],
      [
        ['stade', '12.5'],
        ['wanda', '100.25'],
      ],
    );
    expect(t.split('\n')).toEqual(['method     ppl', '------  ------', 'stade     12.5', 'wanda   100.25']);
  });

  it('draws plots with escaped labels and finite coordinates', () => {
    const svg = linePlot({
      title: 'a<b',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 's&t',
          points: [
            [0.5, 10],
            [0.6, 100],
            [0.7, Number.NaN],
          ],
        },
      ],
      logY: true,
    });
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('s&amp;t');
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg.match(/<circle/g)?.length).toBe(2);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('writes complete HTML for prune and sweep', () => {
    const pr: PruneResult = {
      model: 'm',
      out: 'o',
      method: 'stade',
      sparsity: 0.5,
      pattern: 'unstructured',
      group: 'row',
      owl: false,
      biasCorrection: true,
      calibration,
      dtype: 'F32',
      zeros: 0.5,
      blocks: [],
      warnings: [],
      seconds: 1,
      layers,
      ppl: { dense: 10, pruned: 12, windows: 2, seqlen: 16, data: 'e.txt' },
    };
    const h = pruneHtml(pr);
    expect(h).toMatch(/^<!doctype html>/);
    expect(h).toContain('<svg');
    expect(h).toContain('model.layers.0.mlp.down_proj');
    const sr: SweepResult = {
      model: 'm',
      mode: 'dense-stats',
      group: 'row',
      owl: false,
      biasCorrection: true,
      calibration,
      eval: { data: 'e.txt', windows: 2, seqlen: 16 },
      dense: 10,
      seconds: 3,
      rows: [
        { method: 'stade', pattern: 'unstructured', sparsity: 0.5, ppl: 12, seconds: 1, layers },
        { method: 'stade', pattern: 'unstructured', sparsity: 0.7, ppl: 30, seconds: 1, layers },
        { method: 'wanda', pattern: '2:4', sparsity: 0.5, ppl: 40, seconds: 1, layers },
      ],
    };
    const s = sweepHtml([sr, { ...sr, model: 'm2' }]);
    expect(s.match(/<svg/g)!.length).toBeGreaterThanOrEqual(6);
    expect(s).toContain('<h2>m2</h2>');
    expect(s).toContain('Perplexity vs sparsity');
  });

  it('progress prints plain lines off a terminal and redraws on one', () => {
    let t = 0;
    const io = captureIo();
    const p = new Progress(io, 'prune', 4, () => t);
    for (let i = 1; i <= 4; i++) {
      t += 1000;
      p.update(i, `block ${i}`);
    }
    p.finish();
    expect(io.stderr.length).toBe(4);
    expect(io.stderr[1]).toMatch(/^prune: 2\/4 +50% 0:02 elapsed, ETA 0:02 block 2\n$/);
    const tty = captureIo({ isTTY: true, columns: 100 });
    const q = new Progress(tty, 'eval', 2, () => t);
    t += 500;
    q.update(1);
    t += 500;
    q.update(2);
    q.finish();
    expect(tty.stderr[0]).toMatch(/^\reval \[#+\.+\] 1\/2/);
    expect(tty.stderr.at(-1)).toBe('\n');
    expect(fmtDuration(3725)).toBe('1:02:05');
  });
});
