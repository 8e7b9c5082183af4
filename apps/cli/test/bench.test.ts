import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo, runCli } from './helpers.js';

// `stade bench` on the two embedded models: the JSON rows, the table with the speedup line, and bad input.

const llama = join(repo, 'models/stade-llama-tiny');
const opt = join(repo, 'models/stade-opt-tiny');

describe('stade bench', () => {
  it('measures two models side by side (--json rows, then the table)', () => {
    const args = ['bench', '--model', llama, '--compare', opt, '--prompt-tokens', '16', '--new-tokens', '4'];
    const r = runCli([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { models: Record<string, unknown>[] };
    expect(out.models.map((m) => m.model)).toEqual([llama, opt]);
    for (const m of out.models) {
      expect(Object.keys(m).sort()).toEqual(
        [
          'decode_tokens_per_cpu_s',
          'decode_tokens_per_s',
          'model',
          'prefill_tokens_per_cpu_s',
          'prefill_tokens_per_s',
          'rss_mb',
          'weights',
        ].sort(),
      );
      for (const k of ['decode_tokens_per_s', 'prefill_tokens_per_s', 'decode_tokens_per_cpu_s', 'rss_mb'])
        expect(m[k]).toBeGreaterThan(0);
    }
    const t = runCli(args);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^model\s+weights\s+prefill tokens\/s\s+decode tokens\/s\s+RSS MB$/);
    expect(lines[2]).toContain(llama);
    expect(lines[3]).toContain(opt);
    expect(lines[4]).toMatch(/over .*: prefill [\d.]+x, decode [\d.]+x$/);
  }, 120_000);

  it('rejects bad input with one line naming it', () => {
    for (const [args, msg, code] of [
      [['--compare', join(repo, 'no-such-model')], /model folder .*no-such-model does not exist/, 1],
      [
        ['--prompt-tokens', '250', '--new-tokens', '10'],
        /--prompt-tokens 250 \+ --new-tokens 10 exceed max_position_embeddings 256/,
        1,
      ],
      [['--new-tokens', '0'], /--new-tokens must be at least 1, got 0/, 2],
    ] as const) {
      const r = runCli(['bench', '--model', opt, ...args]);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe('');
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('bench: ')),
      ).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  }, 120_000);
});
