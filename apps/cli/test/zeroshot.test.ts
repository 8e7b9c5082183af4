// `stade zeroshot` end to end with the real tokenizers: the log-likelihoods and predictions of every task
// fixture equal tools/ref_zeroshot.py's (PyTorch re-implementation of lm-evaluation-harness's scoring), read
// from .jsonl and from .parquet; bad input gives one error line and writes nothing.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import type { ZeroshotResult } from '../src/commands/zeroshot.js';
import { captureIo } from '../src/io.js';
import { runCommand } from '../src/run.js';
import { repo, runCli } from './helpers.js';

const jsonlDir = join(repo, 'packages/eval/test/fixtures/data');
const parquetDir = join(repo, 'apps/cli/test/fixtures/zeroshot');
const ref = JSON.parse(readFileSync(join(repo, 'packages/eval/test/fixtures/reference.json'), 'utf8')) as {
  models: Record<
    string,
    {
      tasks: Record<
        string,
        { result: Record<string, number | null>; docs: { lls: number[]; pred: number; pred_norm: number | null }[] }
      >;
    }
  >;
};
const tmp = mkdtempSync(join(tmpdir(), 'stade-zeroshot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function zeroshot(args: string[]): Promise<{ out: ZeroshotResult; samples: Record<string, unknown>[] }> {
  const samples = join(tmp, `samples-${Math.random().toString(36).slice(2)}.jsonl`);
  const io = captureIo();
  await runCommand(parseArgs(['zeroshot', ...args, '--samples', samples, '--json']), io);
  const lines = readFileSync(samples, 'utf8').trim().split('\n');
  return { out: JSON.parse(io.stdout.join('')) as ZeroshotResult, samples: lines.map((l) => JSON.parse(l)) };
}

for (const [name, want] of Object.entries(ref.models)) {
  for (const [format, dir] of [
    ['jsonl', jsonlDir],
    ['parquet', parquetDir],
  ] as const) {
    it(`${name}: every task from .${format} matches the PyTorch reference`, async () => {
      const { out, samples } = await zeroshot(['--model', join(repo, 'models', name), '--data', dir]);
      expect(Object.keys(out.tasks)).toEqual(Object.keys(want.tasks));
      expect(out.add_bos).toBe(false);
      for (const s of samples) {
        const w = want.tasks[s.task as string]!.docs[s.doc as number]!;
        (s.lls as number[]).forEach((ll, k) => {
          expect(Math.abs(ll - w.lls[k]!)).toBeLessThan(1e-5 * Math.abs(w.lls[k]!));
        });
        expect(s.pred).toBe(w.pred);
        expect(s.pred_norm).toBe(w.pred_norm);
      }
      for (const [task, r] of Object.entries(want.tasks)) {
        expect(out.tasks[task]!.acc).toBeCloseTo(r.result.acc!, 12);
        expect(out.tasks[task]!.n).toBe(r.result.n);
      }
    });
  }
}

describe('stade zeroshot options', () => {
  const model = join(repo, 'models/stade-opt-tiny');
  it('--task-file, --limit and --add-bos (BOS said in the output)', async () => {
    const io = captureIo();
    const args = ['zeroshot', '--model', model, '--task-file', `arc_easy=${join(parquetDir, 'arc_easy.parquet')}`];
    await runCommand(parseArgs([...args, '--limit', '2', '--add-bos']), io);
    const text = io.stdout.join('');
    expect(text).toMatch(/BOS token 4095 added/);
    expect(text).toMatch(/arc_easy\s+2\s/);
    const { out } = await zeroshot([...args.slice(1), '--limit', '2']);
    expect(out.tasks.arc_easy!.n).toBe(2);
  });
  it('the embedded last-word task without --data', async () => {
    const { out, samples } = await zeroshot(['--model', model, '--limit', '8']);
    expect(Object.keys(out.tasks)).toEqual(['last_word']);
    expect(out.tasks.last_word!.n).toBe(8);
    expect(samples.length).toBe(8);
  });
});

describe('stade zeroshot bad input', () => {
  const model = join(repo, 'models/stade-opt-tiny');
  const bad = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmp, 'data-'));
    for (const [to, from] of Object.entries(files)) cpSync(join(jsonlDir, from), join(dir, to));
    return dir;
  };
  it('a file of another task: one line naming the file, record and field; nothing written', () => {
    const dir = bad({ 'boolq.jsonl': 'arc_easy.jsonl' });
    const samples = join(dir, 'samples.jsonl');
    const r = runCli(['zeroshot', '--model', model, '--data', dir, '--tasks', 'boolq', '--samples', samples]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `stade: error: ${join(dir, 'boolq.jsonl')}: record 1: field "passage": missing (the record has the fields of arc_easy: is this a arc_easy file?)`,
    ]);
    expect(existsSync(samples)).toBe(false);
  });
  it('a task file missing from --data, an unknown task, a bad --task-file', () => {
    const dir = bad({ 'rte.jsonl': 'rte.jsonl' });
    let r = runCli(['zeroshot', '--model', model, '--data', dir, '--tasks', 'rte,boolq']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no boolq\.jsonl or boolq\.parquet in .* \(or pass --task-file boolq=FILE\)/);
    r = runCli(['zeroshot', '--model', model, '--data', dir, '--tasks', 'mmlu']);
    expect(r.code).toBe(2);
    r = runCli(['zeroshot', '--model', model, '--task-file', 'rte']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--task-file expects NAME=FILE, got 'rte'/);
  });
  it('invalid JSON and a non-Parquet file name the file', () => {
    const dir = mkdtempSync(join(tmp, 'junk-'));
    mkdirSync(dir, { recursive: true });
    cpSync(join(jsonlDir, 'rte.jsonl'), join(dir, 'rte.parquet'));
    const r = runCli(['zeroshot', '--model', model, '--data', dir, '--tasks', 'rte']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rte\.parquet is not a readable Parquet file/);
  });
});

describe('prune and sweep --zeroshot', () => {
  const model = join(repo, 'models/stade-opt-tiny');
  it('prune reports accuracy before and after; the card records it; the saved model scores the same', async () => {
    const out = join(tmp, 'pruned');
    const io = captureIo();
    const args = ['prune', '--model', model, '--method', 'magnitude', '--sparsity', '0.7', '--nsamples', '2'];
    await runCommand(parseArgs([...args, '--zeroshot', jsonlDir, '--zeroshot-limit', '3', '--out', out, '--json']), io);
    const r = JSON.parse(io.stdout.join('')) as {
      zeroshot: { dense: Record<string, { acc: number; n: number }>; pruned: Record<string, { acc: number }> };
    };
    expect(Object.keys(r.zeroshot.dense)).toEqual(Object.keys(ref.models['stade-opt-tiny']!.tasks));
    const { out: after } = await zeroshot(['--model', out, '--data', jsonlDir, '--limit', '3']);
    const { out: before } = await zeroshot(['--model', model, '--data', jsonlDir, '--limit', '3']);
    for (const t of Object.keys(r.zeroshot.dense)) {
      expect(r.zeroshot.dense[t]!.acc).toBe(before.tasks[t]!.acc);
      expect(r.zeroshot.pruned[t]!.acc).toBe(after.tasks[t]!.acc);
    }
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toMatch(/## Zero-shot accuracy[\s\S]*\| boolq \| 3 \|/);
  });
  it('sweep adds a mean-accuracy table', async () => {
    const io = captureIo();
    const args = [
      'sweep',
      '--model',
      model,
      '--methods',
      'magnitude',
      '--sparsities',
      '0.5',
      '--patterns',
      'unstructured',
    ];
    await runCommand(
      parseArgs([...args, '--nsamples', '2', '--max-windows', '1', '--zeroshot', parquetDir, '--zeroshot-limit', '2']),
      io,
    );
    const text = io.stdout.join('');
    expect(text).toMatch(/zero-shot mean acc on .*; dense \d\.\d{4}/);
    expect(text).toMatch(/magnitude\s+\d\.\d{4}\n/);
  });
});
