// Perplexity block by block (each block over all windows, then releaseBlock) equals window by window.
import { describe, expect, it } from 'vitest';
import { loadModel, parameterBytes, perplexity, perplexitySteps, resolveEvalMode } from '../src/index.js';
import { fixtureNames, loadFixture } from './fixtures.js';

describe('perplexity modes on the golden fixtures', () => {
  for (const name of fixtureNames()) {
    it(`${name}: block mode (also in groups of one window) gives the window-mode perplexity to 1e-6`, () => {
      const fx = loadFixture(name);
      const p = fx.ref.perplexity;
      const ids = Int32Array.from(p.ids);
      const model = loadModel(fx.dir);
      const released: number[] = [];
      const release = model.releaseBlock.bind(model);
      model.releaseBlock = (i: number) => {
        released.push(i);
        release(i);
      };
      const win = perplexity(model, ids, { seqlen: p.seqlen, mode: 'window' });
      expect(win.mode).toBe('window');
      expect(released).toEqual([]);
      let steps = 0;
      const blk = perplexity(model, ids, { seqlen: p.seqlen, mode: 'block', onProgress: () => steps++ });
      expect(blk.mode).toBe('block');
      expect(released).toEqual(Array.from({ length: model.numBlocks }, (_, i) => i));
      expect(steps).toBe(perplexitySteps(model, p.windows, 'block', p.seqlen));
      const one = perplexity(model, ids, { seqlen: p.seqlen, mode: 'block', hiddenBudgetBytes: 1 });
      for (const r of [blk, one]) {
        expect(Math.abs(r.ppl - win.ppl) / win.ppl).toBeLessThan(1e-6);
        expect(r.losses).toHaveLength(win.losses.length);
        for (let w = 0; w < win.losses.length; w++) expect(Math.abs(r.losses[w]! - win.losses[w]!)).toBeLessThan(1e-6);
      }
    });
  }

  it('auto picks block mode above the weight budget, window mode below it', () => {
    const model = loadModel(loadFixture('opt-pre').dir);
    const bytes = parameterBytes(model)!;
    expect(bytes).toBeGreaterThan(0);
    expect(resolveEvalMode(model, 'auto', bytes - 1)).toBe('block');
    expect(resolveEvalMode(model, 'auto', bytes)).toBe('window');
    expect(resolveEvalMode(model)).toBe('window'); // a tiny model under the 2 GiB default
    expect(resolveEvalMode(model, 'block')).toBe('block');
    expect(() => resolveEvalMode(model, 'layer' as never)).toThrow(/mode must be auto, window or block/);
  });
});
