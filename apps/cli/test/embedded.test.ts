import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliRun, repo, runCliAsync } from './helpers.js';

// The embedded models ship a reference.json with the held-out perplexity PyTorch measured; `stade eval` with
// its defaults (the embedded eval text, seqlen = max_position_embeddings) must reproduce it within 1e-3.

const models = join(repo, 'models');
const folders = existsSync(models)
  ? readdirSync(models).filter(
      (d) => existsSync(join(models, d, 'reference.json')) && existsSync(join(models, d, 'config.json')),
    )
  : [];

describe('embedded models', () => {
  it('the repository ships embedded models', () => {
    expect(folders.length).toBeGreaterThan(0);
  });

  it('stade eval reproduces each model card perplexity (PyTorch) within 1e-3', async () => {
    const runs = await Promise.all(
      folders.map(
        (d): Promise<[string, CliRun]> =>
          runCliAsync(['eval', '--model', join(models, d), '--json', '--threads', '1'], () => {}).then((r) => [d, r]),
      ),
    );
    for (const [d, r] of runs) {
      expect(r.code, r.stderr).toBe(0);
      const ref = JSON.parse(readFileSync(join(models, d, 'reference.json'), 'utf8'));
      const got = JSON.parse(r.stdout);
      expect(got.tokens).toBe(ref.tokens);
      expect(got.windows).toBe(ref.windows);
      expect(got.seqlen).toBe(ref.seqlen);
      expect(Math.abs(got.ppl - ref.ppl) / ref.ppl, `${d}: ${got.ppl} vs ${ref.ppl}`).toBeLessThan(1e-3);
    }
  }, 600_000);
});
