// `analyzeModel` against the PyTorch computation of the same per-layer and per-block figures (tools/ref_analyze.py).
// The two forward passes agree to float32 rounding (~1e-7 relative), so the statistics and closed forms agree to
// ~1e-8 (bound 1e-6) and the errors measured on float32 outputs to ~1e-7 (bound 1e-5).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@stade/transformer';
import { describe, expect, it } from 'vitest';
import { analyzeModel, contiguousWindows } from '../src/index.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

interface Pred {
  diag: number;
  cross: number;
}
interface RefLayer {
  name: string;
  noncentred: number;
  meanNorm: number;
  outlierShare: number;
  predicted: { wanda: Pred; stade: Pred };
  measured: { wanda: number; stade: number };
}
interface Reference {
  calibration: { nsamples: number; heldout: number; seqlen: number; ids: number[] };
  runs: {
    pattern: string;
    sparsity: number;
    layers: RefLayer[];
    blocks: { index: number; relative: { wanda: number; stade: number; stadew: number } }[];
  }[];
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

for (const name of ['opt-pre', 'llama-gqa']) {
  describe(`analyze against PyTorch: ${name}`, () => {
    const ref = JSON.parse(readFileSync(here(`./fixtures/analyze/${name}.json`), 'utf8')) as Reference;
    const c = ref.calibration;
    const all = contiguousWindows(Int32Array.from(c.ids), { nsamples: c.nsamples + c.heldout, seqlen: c.seqlen });
    for (const run of ref.runs) {
      it(`${run.pattern} ${run.sparsity}: per-layer and per-block figures`, () => {
        const model = loadModel(here(`../../transformer/test/fixtures/${name}`));
        const r = analyzeModel(model, all.slice(0, c.nsamples), all.slice(c.nsamples), {
          pattern: run.pattern,
          sparsity: run.pattern === 'unstructured' ? run.sparsity : undefined,
        });
        expect(r.layers.map((l) => l.name).sort()).toEqual(run.layers.map((l) => l.name).sort());
        for (const want of run.layers) {
          const got = r.layers.find((l) => l.name === want.name)!;
          const at = `${want.name}`;
          expect(rel(got.noncentred, want.noncentred), at).toBeLessThan(1e-6);
          expect(rel(got.meanNorm, want.meanNorm), at).toBeLessThan(1e-6);
          expect(got.outlierShare, at).toBe(want.outlierShare);
          for (const m of ['wanda', 'stade'] as const) {
            expect(rel(got.predicted[m].diag, want.predicted[m].diag), `${at} ${m} diag`).toBeLessThan(1e-6);
            // The cross terms are a difference of two sums: compare on the scale of the full error.
            const full = want.predicted[m].diag + want.predicted[m].cross;
            expect(Math.abs(got.predicted[m].cross - want.predicted[m].cross) / full, `${at} ${m} cross`).toBeLessThan(
              1e-6,
            );
            // Measured on float32 outputs in both.
            expect(rel(got.measured![m], want.measured[m]), `${at} ${m} measured`).toBeLessThan(1e-5);
          }
        }
        for (const b of run.blocks) {
          for (const m of ['wanda', 'stade', 'stadew'] as const)
            expect(rel(r.blocks[b.index]!.relative[m], b.relative[m]), `block ${b.index} ${m}`).toBeLessThan(1e-5);
        }
      });
    }
  });
}
