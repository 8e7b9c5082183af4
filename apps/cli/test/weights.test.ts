import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo, runCli } from './helpers.js';

// --weights on a 2:4-pruned copy of the embedded OPT model: every format generates the same greedy tokens, auto
// picks 2:4 for every layer, and stade bench measures each format in turn.

let dir = '';
let pruned = '';
let benchOfPrune: { models: { model: string; weights: string; decode_tokens_per_s: number }[] } | undefined;
const prompt = 'Call me Ishmael. Some years ago, the whale';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stade-weights-'));
  pruned = join(dir, 'opt-2-4');
  const r = runCli([
    'prune',
    '--model',
    join(repo, 'models/stade-opt-tiny'),
    '--method',
    'magnitude',
    '--pattern',
    '2:4',
    '--nsamples',
    '2',
    '--seqlen',
    '32',
    '--out',
    pruned,
    '--bench',
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  benchOfPrune = JSON.parse(r.stdout).bench;
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--weights', () => {
  it('prune --bench measures the original and the saved model with --weights auto', () => {
    expect(benchOfPrune?.models.map((m) => [m.model, m.weights])).toEqual([
      [join(repo, 'models/stade-opt-tiny'), 'auto'],
      [pruned, 'auto'],
    ]);
    for (const m of benchOfPrune!.models) expect(m.decode_tokens_per_s).toBeGreaterThan(0);
  });

  it('generate: dense, f16, sparse and auto give the same greedy tokens; auto picks 2:4 everywhere', () => {
    const ids = (w: string) => {
      const r = runCli([
        'generate',
        '--model',
        pruned,
        '--prompt',
        prompt,
        '--max-new-tokens',
        '24',
        '--weights',
        w,
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).ids as number[];
    };
    const dense = ids('dense');
    expect(dense).toHaveLength(24);
    expect(ids('sparse')).toEqual(dense);
    expect(ids('auto')).toEqual(dense);
    expect(ids('f16').slice(0, 8)).toEqual(dense.slice(0, 8)); // rounded weights: the start agrees
    const plain = runCli(['generate', '--model', pruned, '--prompt', prompt, '--max-new-tokens', '4']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toBe('weights: 24 2:4 (--weights auto)\n');
  }, 120_000);

  it('bench measures each format in turn', () => {
    const r = runCli([
      'bench',
      '--model',
      pruned,
      '--weights',
      'dense,sparse',
      '--prompt-tokens',
      '8',
      '--new-tokens',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).models as { model: string; weights: string }[];
    expect(rows.map((x) => [x.model, x.weights])).toEqual([
      [pruned, 'dense'],
      [pruned, 'sparse'],
    ]);
    const bad = runCli(['bench', '--model', pruned, '--weights', 'dense,fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown value 'fast' for --weights \(expected one of: auto, dense, f16, sparse\)/);
  }, 120_000);
});
