import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModelDir, makeText, runCli } from './helpers.js';

// `stade eval --eval-mode`: block mode (one block of weights at a time) gives the window-mode perplexity.
let root: string;
let opt: string;
let text: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'stade-eval-mode-'));
  opt = makeModelDir('opt-pre', join(root, 'opt'));
  text = join(root, 'eval.txt');
  writeFileSync(text, makeText(700, 130, 2));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('stade eval --eval-mode', () => {
  it('window and block give the same perplexity; --json reports the mode; auto picks window for a tiny model', () => {
    const run = (mode: string | null) => {
      const r = runCli([
        'eval',
        '--model',
        opt,
        '--data',
        text,
        '--seqlen',
        '32',
        '--json',
        ...(mode ? ['--eval-mode', mode] : []),
      ]);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout.trim());
    };
    const w = run('window');
    const b = run('block');
    const a = run(null);
    expect(w.mode).toBe('window');
    expect(b.mode).toBe('block');
    expect(a.mode).toBe('window');
    expect(w.windows).toBeGreaterThan(1);
    expect(Math.abs(b.ppl - w.ppl) / w.ppl).toBeLessThan(1e-6);
    expect(a.ppl).toBe(w.ppl);
  });

  it('rejects an unknown mode with one clear error', () => {
    const r = runCli(['eval', '--model', opt, '--data', text, '--eval-mode', 'layer']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown value 'layer' for --eval-mode \(expected one of: auto, window, block\)/);
    expect(r.stdout).toBe('');
  });
});
