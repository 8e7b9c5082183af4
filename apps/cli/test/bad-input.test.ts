import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Case, type Ctx, inspect, cases as otherCases } from './bad-input-cases.js';
import { checkpointCases } from './bad-input-checkpoints.js';
import { truncate } from './corrupt.js';
import { type CliRun, makeModelDir, makeText, runCli, runCliAsync } from './helpers.js';

// The bad-input corpus (issue 5): every case must end with exactly one `stade: error:` line naming the culprit,
// a non-zero exit code, no stack trace, nothing on stdout, and no output folder or partial file left behind.

const root = mkdtempSync(join(tmpdir(), 'stade-bad-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cases: Case[] = [...otherCases, ...checkpointCases];

let n = 0;
function context(): Ctx {
  const dir = join(root, `case-${n++}`);
  const model = makeModelDir('llama-gqa', join(dir, 'model'));
  const c: Ctx = {
    dir,
    model,
    st: join(model, 'model.safetensors'),
    calib: join(dir, 'calib.txt'),
    eval: join(dir, 'eval.txt'),
    out: join(dir, 'out'),
    html: join(dir, 'report.html'),
  };
  writeFileSync(c.calib, makeText(400, 150, 3));
  writeFileSync(c.eval, makeText(100, 150, 4));
  return c;
}

interface Outcome {
  c: Ctx;
  before: Set<string>;
  r: CliRun;
}

/** Runs every case up front, a few processes at a time (the runs are independent; each has its own folder). */
const outcomes = new Map<string, Outcome>();
beforeAll(async () => {
  const queue = cases.map((k) => {
    const c = context();
    k.setup?.(c);
    return { k, c, before: new Set(readdirSync(c.dir)) };
  });
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const r = await runCliAsync(item.k.args(item.c), () => {});
      outcomes.set(item.k.name, { c: item.c, before: item.before, r });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}, 600_000);

describe('bad-input corpus', () => {
  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((k) => k.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, k) => {
    const { c, before, r } = outcomes.get(k.name)!;
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    if (k.code !== undefined) expect(r.code).toBe(k.code);
    else expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => /error/i.test(l));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^stade: error: \S/);
    const culprit = k.culprit(c);
    if (typeof culprit === 'string') expect(lines[0]).toContain(culprit);
    else expect(lines[0]).toMatch(culprit);
    expect(r.stderr).not.toMatch(/\n\s+at \S/); // no stack trace
    expect(r.stdout).toBe('');
    // nothing new left behind in the case folder (no output, no temp folders, no report)
    const after = readdirSync(c.dir).filter((e) => !before.has(e));
    expect(after).toEqual([]);
    if (k.name.startsWith('existing --out')) expect(readdirSync(c.out)).toEqual(['keep.txt']);
    expect(existsSync('/proc/stade-out')).toBe(false);
  });

  it('prints the stack trace with --debug', () => {
    const c = context();
    truncate(c.st, 0.5);
    const r = runCli(['--debug', ...inspect(c)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stade: error: /);
    expect(r.stderr).toMatch(/\n\s+at \S/);
  });
});
