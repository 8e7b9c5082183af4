import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bigLlama, makeText, runCliAsync } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'stade-sigint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('SIGINT', () => {
  it('interrupting a prune mid-run exits 130 and leaves no output or temporary folder', async () => {
    const model = join(root, 'big');
    bigLlama(model);
    const calib = join(root, 'calib.txt');
    writeFileSync(calib, makeText(20_000, 190, 5));
    const work = join(root, 'work');
    mkdirSync(work);
    const out = join(work, 'out');
    let sent = false;
    const r = await runCliAsync(
      [
        'prune',
        '--model',
        model,
        '--method',
        'stade',
        '--sparsity',
        '0.5',
        '--calib',
        calib,
        '--nsamples',
        '64',
        '--seqlen',
        '128',
        '--out',
        out,
      ],
      (stderr, kill) => {
        if (!sent && /prune: 1\/4/.test(stderr)) {
          sent = true;
          kill('SIGINT');
        }
      },
    );
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    const errors = r.stderr.split('\n').filter((l) => /error/.test(l));
    expect(errors).toEqual(['stade: error: interrupted by SIGINT; removing partial output']);
    expect(r.stderr).not.toMatch(/\n\s+at \S/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
  });
});
