import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures, repo, runCli } from './helpers.js';

// `stade generate` on the embedded models: greedy tokens equal PyTorch's (tools/ref_generate.py, the same prompt
// text), the text streams after the prompt and ends with the speeds, sampling is seeded, bad input is one line.

interface GenRef {
  dir: string;
  prompt: string;
  prompt_ids: number[];
  max_new_tokens: number;
  ids: number[];
}
const refs = (JSON.parse(readFileSync(join(fixtures, 'generate.json'), 'utf8')) as { models: Record<string, GenRef> })
  .models;

describe('stade generate', () => {
  for (const name of ['stade-opt-tiny', 'stade-llama-tiny']) {
    it(`${name}: --json greedy ids equal PyTorch's for the same prompt`, () => {
      const ref = refs[name]!;
      const dir = join(repo, ref.dir);
      const args = ['generate', '--model', dir, '--prompt', ref.prompt, '--max-new-tokens', `${ref.max_new_tokens}`];
      const r = runCli([...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(Object.keys(out).sort()).toEqual(
        ['decode_tokens_per_s', 'ids', 'prefill_tokens_per_s', 'prompt_tokens', 'text'].sort(),
      );
      expect(out.ids).toEqual(ref.ids);
      expect(out.prompt_tokens).toBe(ref.prompt_ids.length);
      expect(out.prefill_tokens_per_s).toBeGreaterThan(0);
      expect(out.decode_tokens_per_s).toBeGreaterThan(0);
      expect(out.text.length).toBeGreaterThan(0);

      const plain = runCli(args);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout.startsWith(ref.prompt + out.text)).toBe(true);
      expect(plain.stdout).toMatch(
        /\n\nprefill [\d.]+ tokens\/s \(15 prompt tokens\), decode [\d.]+ tokens\/s \(48 new tokens\)\n$/,
      );
    }, 120_000);
  }

  it('samples deterministically for a seed', () => {
    const args = [
      'generate',
      '--prompt',
      'The sea',
      '--temperature',
      '0.8',
      '--top-k',
      '40',
      '--top-p',
      '0.9',
      '--json',
    ];
    const a = JSON.parse(runCli([...args, '--seed', '3']).stdout);
    const b = JSON.parse(runCli([...args, '--seed', '3', '--threads', '2']).stdout);
    const c = JSON.parse(runCli([...args, '--seed', '4']).stdout);
    expect(a.ids).toHaveLength(32);
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).not.toEqual(a.ids);
  }, 120_000);

  it('rejects bad input with one line naming the flag', () => {
    for (const [args, msg, code] of [
      [['--top-p', '0'], /--top-p must be in \(0, 1\], got 0/, 2],
      [['--temperature', '-1'], /--temperature must be at least 0, got -1/, 2],
      [
        ['--max-new-tokens', '300'],
        /--prompt \(\d+ tokens\) and --max-new-tokens 300 exceed the model's max_position_embeddings 256/,
        2,
      ],
    ] as const) {
      const r = runCli(['generate', '--prompt', 'The sea', ...args]);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    const empty = runCli(['generate', '--prompt', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--prompt gives no tokens/);
    const r = runCli(['generate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--prompt/);
  }, 120_000);
});
