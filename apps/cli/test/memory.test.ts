// Issue 9.4 / 9.8: memory is bounded by design. Exact counts of the engine's allocations (storageStats: new
// buffers, independent of when the garbage collector runs) show that pruning a 16-block model through the
// streaming saver, and evaluating it block by block over many windows, allocates no more than a 4-block model of
// the same width, and that none of it is left to the garbage collector (no unowned bytes, no forced collection).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeModel, type Method, pruneModel } from '@stade/prune';
import { setRecyclerCap } from '@stade/tensor';
import { type StorageUse, storageUse } from '@stade/tensor/testing';
import { type CausalLM, type Checkpoint, perplexity } from '@stade/transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel } from '../src/commands/common.js';
import { captureIo } from '../src/io.js';
import { ModelSaver } from '../src/save.js';
import { bigLlama } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'stade-memory-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What `f` allocates, starting from an empty recycler (so that no run inherits buffers of an earlier one). */
function used(f: () => void): StorageUse {
  setRecyclerCap(0);
  setRecyclerCap(256 * 2 ** 20);
  return storageUse(f);
}

let n = 0;
/** A BF16 Llama of width 128 (down_proj 341 inputs: the Hessian's matmul path) with `blocks` blocks. */
function open(blocks: number): { ckpt: Checkpoint; model: CausalLM; dir: string } {
  const dir = join(root, `m${n++}-${blocks}`);
  bigLlama(dir, { blocks, hidden: 128, dtype: 'BF16' });
  return { ...openModel(dir), dir };
}

const windows = (count: number, len: number) =>
  Array.from({ length: count }, (_, w) => Int32Array.from({ length: len }, (_, t) => (w * 31 + t * 7) % 190));

/** Prunes with the driver's sink writing each block into the streaming saver, as `stade prune --out` does. */
function pruneUsed(blocks: number, method: Method): StorageUse {
  const { ckpt, model, dir } = open(blocks);
  const linears = Array.from({ length: blocks }, (_, i) => model.linearNames(i)).flat();
  const saver = ModelSaver.begin(
    model,
    {
      ckpt,
      out: `${dir}-out`,
      dtype: 'BF16',
      maxShardBytes: 1 << 30,
      overwrite: false,
      biases: new Set(method === 'stade' ? linears : []),
    },
    captureIo(),
  );
  const u = used(() =>
    pruneModel(model, windows(4, 48), {
      method,
      sparsity: 0.5,
      sink: (b) => {
        for (const l of b.layers) saver.writeLayer(l);
      },
    }),
  );
  saver.finish('');
  saver.publish();
  ckpt.close();
  return u;
}

describe('pruning memory does not grow with the number of blocks', () => {
  it.each(['wanda', 'stade', 'sparsegpt', 'magnitude'] as const)(
    '%s: 16 blocks allocate what 4 do, nothing left to the GC',
    (method) => {
      const four = pruneUsed(4, method);
      const sixteen = pruneUsed(16, method);
      // One block of this model is 0.75 MB in float32: growing per block would add megabytes for 12 more.
      expect(four.bytes).toBeGreaterThan(0);
      expect(sixteen.bytes).toBeLessThanOrEqual(four.bytes + 4096);
      expect(sixteen.buffers).toBeLessThanOrEqual(four.buffers + 4);
      expect([four.unowned, sixteen.unowned, four.forcedGcs, sixteen.forcedGcs]).toEqual([0, 0, 0, 0]);
    },
    60_000,
  );
});

describe('block-mode evaluation memory grows with neither blocks nor windows', () => {
  const ppl = (model: CausalLM, count: number, mode: 'block' | 'window') =>
    used(() => {
      const ids = Int32Array.from(windows(count, 32).flatMap((w) => [...w]));
      perplexity(model, ids, { seqlen: 32, mode });
    });

  it('block mode: 16 blocks x 8 windows allocate what 4 blocks x 2 windows do (plus 6 windows); window mode: 8 windows what 2 do', () => {
    const small = open(4);
    const big = open(16);
    const b4 = ppl(small.model, 2, 'block');
    const b16 = ppl(big.model, 8, 'block');
    expect(b16.bytes).toBeLessThanOrEqual(b4.bytes + 6 * 32 * 128 * 4); // + the 6 more windows' hidden states
    expect(b16.buffers).toBeLessThanOrEqual(b4.buffers + 6);
    ppl(big.model, 2, 'window'); // first reads of every block's weights, cached for window mode
    const w2 = ppl(big.model, 2, 'window');
    const w8 = ppl(big.model, 8, 'window');
    expect(w8).toEqual(w2);
    for (const u of [b4, b16, w2, w8]) expect([u.unowned, u.forcedGcs]).toEqual([0, 0]);
    small.ckpt.close();
    big.ckpt.close();
  }, 60_000);
});

describe('analyze memory does not grow with the number of blocks', () => {
  const analyzeUsed = (blocks: number): StorageUse => {
    const { ckpt, model } = open(blocks);
    const u = used(() => analyzeModel(model, windows(4, 48), windows(2, 48), { sparsity: 0.5 }));
    // the model is left as stored: no layer keeps a float32 replacement (which would hold every block's weights)
    for (let i = 0; i < blocks; i++) for (const n of model.linearNames(i)) expect(model.isLinearSet(n)).toBe(false);
    ckpt.close();
    return u;
  };

  it('16 blocks allocate what 4 do: nothing left to the GC, the model left as stored', () => {
    const four = analyzeUsed(4);
    const sixteen = analyzeUsed(16);
    expect(four.bytes).toBeGreaterThan(0);
    // Keeping each block's float32 weights (as replacements, or in a never-reset arena) would add 0.75 MB per
    // block; layer-error taps left undisposed added their outputs' scratch (about 360 KB in 8 buffers) per block.
    expect([sixteen.bytes, sixteen.buffers]).toEqual([four.bytes, four.buffers]);
    expect([four.unowned, sixteen.unowned, four.forcedGcs, sixteen.forcedGcs]).toEqual([0, 0, 0, 0]);
  }, 60_000);
});
