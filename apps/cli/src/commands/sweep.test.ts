import { describe, expect, it } from 'vitest';
import { modelCard } from '../card.js';
import type { PruneResult, SweepResult } from '../report/types.js';
import { sweepCases, sweepText } from './sweep.js';

describe('sweep', () => {
  it('runs each method at each unstructured sparsity and once per N:M pattern', () => {
    const cases = sweepCases(['wanda', 'stade'], [0.5, 0.7], ['unstructured', { n: 2, m: 4 }, { n: 4, m: 8 }]);
    expect(
      cases.map(
        (c) =>
          `${c.method}@${typeof c.pattern === 'string' ? c.pattern : `${c.pattern.n}:${c.pattern.m}`}@${c.sparsity}`,
      ),
    ).toEqual([
      'wanda@unstructured@0.5',
      'stade@unstructured@0.5',
      'wanda@unstructured@0.7',
      'stade@unstructured@0.7',
      'wanda@2:4@0.5',
      'stade@2:4@0.5',
      'wanda@4:8@0.5',
      'stade@4:8@0.5',
    ]);
    expect(sweepCases(['wanda', 'wanda'], [0.5], ['unstructured'])).toHaveLength(1);
  });

  it('prints one row per method and one column per configuration', () => {
    const r = {
      model: 'm',
      eval: { data: 'e.txt', windows: 3, seqlen: 8 },
      dense: 10,
      rows: [
        { method: 'wanda', pattern: 'unstructured', sparsity: 0.5, ppl: 12, seconds: 1, layers: [] },
        { method: 'stade', pattern: 'unstructured', sparsity: 0.5, ppl: 11, seconds: 1, layers: [] },
        { method: 'wanda', pattern: '2:4', sparsity: 0.5, ppl: 20, seconds: 1, layers: [] },
      ],
      seconds: 3,
      mode: 'dense-stats',
      calibration: { nsamples: 4 },
    } as unknown as SweepResult;
    const lines = sweepText(r).split('\n');
    expect(lines[0]).toBe('perplexity of m on e.txt (3 windows of 8 tokens); dense 10.000');
    expect(lines[2]).toMatch(/^method +50\.0% +2:4$/);
    expect(lines[4]).toMatch(/^wanda +12\.000 +20\.000$/);
    expect(lines[5]).toMatch(/^stade +11\.000 +-$/);
  });
});

describe('model card', () => {
  it('records the recipe, the calibration and the perplexities', () => {
    const r = {
      model: '/m/opt-125m',
      out: '/o/opt-stade',
      method: 'stade',
      sparsity: 0.5,
      pattern: '2:4',
      group: 'row',
      owl: false,
      biasCorrection: true,
      dtype: 'F16',
      zeros: 0.5,
      seconds: 3,
      blocks: [],
      layers: [],
      warnings: [],
      calibration: { source: 'c.jsonl', nsamples: 128, seqlen: 2048, sampling: 'random', seed: 7, tokens: 1 },
      ppl: { dense: 27.65, pruned: 33.1, windows: 140, seqlen: 2048, data: 'wiki.txt' },
    } as PruneResult;
    const card = modelCard(r, 'stade prune --method stade');
    for (const s of [
      '| method | stade |',
      '| pattern | 2:4 |',
      'seed 7',
      '128 x 2048 tokens',
      '| dense | 27.650 |',
      '| pruned | 33.100 |',
      'stade prune --method stade',
      '# opt-stade',
    ]) {
      expect(card).toContain(s);
    }
  });
});
