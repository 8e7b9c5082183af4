import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('packages/tensor/README.md', () => {
  it('usage example runs as written (against the built package) and exits by itself', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const src = code!.replace(`from '@stade/tensor'`, `from ${JSON.stringify(dist)}`);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // y = [[1, 2], [4, 5]]; layerNorm of each row -> [-1, 1]; causal softmax of [[-1, 1], [-1, 1]].
    const out = JSON.parse(r.stdout) as number[];
    const e = 1 / (1 + Math.exp(2));
    const want = [1, 0, e, 1 - e];
    for (let i = 0; i < want.length; i++) expect(out[i]).toBeCloseTo(want[i]!, 3);
  });
});
