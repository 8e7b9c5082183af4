// Faults while saving and the memory bound of pruning (issue 9, items 2 and 8): a run killed with SIGKILL leaves
// only a temporary folder, which the next run removes; a write error leaves nothing; pruning 16 blocks holds no
// more memory than pruning 4 of the same width.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneModel } from '@stade/prune';
import { storageStats } from '@stade/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';
import { openModel } from '../src/commands/common.js';
import { pruneCommand } from '../src/commands/prune.js';
import { errorLine } from '../src/errors.js';
import { captureIo } from '../src/io.js';
import { ModelSaver } from '../src/save.js';
import { bigLlama, enospcWriters, makeText, runCli, runCliAsync } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'stade-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const calib = join(root, 'calib.txt');
writeFileSync(calib, makeText(20_000, 190, 5));

const pruneArgs = (model: string, out: string, extra: string[] = []) => [
  'prune',
  '--model',
  model,
  '--method',
  'wanda',
  '--sparsity',
  '0.5',
  '--calib',
  calib,
  '--out',
  out,
  ...extra,
];

describe('SIGKILL while saving', () => {
  it('leaves no output folder, only a temporary one, which the next run removes and reports', async () => {
    const model = join(root, 'big');
    bigLlama(model, { dtype: 'BF16' });
    const work = join(root, 'work');
    mkdirSync(work);
    const out = join(work, 'out');
    let killed = false;
    const r = await runCliAsync(pruneArgs(model, out, ['--nsamples', '64', '--seqlen', '128']), (stderr, kill) => {
      // the temporary folder exists from the start of pruning: blocks are written into it as they finish
      if (!killed && /writing .*stade-tmp/.test(stderr)) {
        killed = true;
        kill('SIGKILL');
      }
    });
    expect(killed).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    const left = readdirSync(work);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\.out\.stade-tmp-\d+-/);
    const again = runCli(pruneArgs(model, out, ['--nsamples', '2', '--seqlen', '32']));
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`removed ${join(work, left[0]!)}, left by an earlier run that was killed`);
    expect(readdirSync(work)).toEqual(['out']);
  }, 120_000);
});

describe('write errors', () => {
  it('ENOSPC from the shard writer ends with one error line and no output or temporary folder', async () => {
    const model = join(root, 'small');
    bigLlama(model, { blocks: 2, hidden: 64, dtype: 'BF16' });
    const work = join(root, 'work-enospc');
    mkdirSync(work);
    const out = join(work, 'out');
    const createWriter = enospcWriters(5);
    const io = captureIo();
    const v = parseArgs(pruneArgs(model, out, ['--nsamples', '2', '--seqlen', '32'])).values;
    let err: unknown;
    await pruneCommand(v, io, undefined, { createWriter }).catch((e) => {
      err = e;
    });
    const line = errorLine(err);
    expect(line).toMatch(/^stade: error: .*\.safetensors: cannot write \(ENOSPC\): no space left on device$/);
    expect(line.split('\n')).toHaveLength(1);
    expect(readdirSync(work)).toEqual([]);
    expect(io.temps.size).toBe(0);
    expect(io.stdout).toEqual([]);
  });
});

describe('memory of pruning', () => {
  /**
   * Prunes a BF16 Llama with `blocks` blocks the way `stade prune` does (the driver's sink writes each block into
   * the streaming saver). Samples, at every finished block, the bytes the model holds (its weight store: cached
   * reads, float32 copies, replacements, reusable buffers: ownership, not the garbage collector's schedule), and
   * counts the engine's allocations per block with `storageStats`.
   */
  function run(blocks: number): { peakHeld: number; perBlock: number } {
    const dir = join(root, `mem-${blocks}`);
    bigLlama(dir, { blocks, hidden: 128, dtype: 'BF16' });
    const { ckpt, model } = openModel(dir);
    const held = () => (model as unknown as { residentBytes(): number }).residentBytes();
    const windows = Array.from({ length: 4 }, (_, w) =>
      Int32Array.from({ length: 64 }, (_, t) => (w * 31 + t * 7) % 190),
    );
    const saver = ModelSaver.begin(
      model,
      {
        ckpt,
        out: join(root, `mem-${blocks}-out`),
        dtype: 'BF16',
        maxShardBytes: 1 << 30,
        overwrite: false,
        biases: new Set(),
      },
      captureIo(),
    );
    let peakHeld = 0;
    const before = storageStats().sharedBytesAllocated;
    pruneModel(model, windows, {
      method: 'wanda',
      sparsity: 0.5,
      sink: (b) => {
        for (const l of b.layers) saver.writeLayer(l);
        peakHeld = Math.max(peakHeld, held());
      },
    });
    const perBlock = (storageStats().sharedBytesAllocated - before) / blocks;
    saver.finish('');
    saver.publish();
    ckpt.close();
    return { peakHeld, perBlock };
  }

  it('pruning 16 blocks holds no more memory than pruning 4 of the same width', () => {
    const four = run(4);
    const sixteen = run(16);
    // One block of this model is 0.75 MB in float32: keeping the pruned blocks would add 9 MB for 12 more.
    expect(sixteen.peakHeld).toBeLessThanOrEqual(four.peakHeld + 64 * 1024);
    expect(four.peakHeld).toBeLessThan(3 * 0.75 * 2 ** 20);
    // and the engine allocates no more per block when there are more blocks
    expect(sixteen.perBlock).toBeLessThan(four.perBlock * 1.05);
  }, 120_000);
});
