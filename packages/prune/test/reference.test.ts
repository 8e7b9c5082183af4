// Compares the whole pipeline with the PyTorch reference of tools/ref_prune.py on the transformer fixture models.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel, perplexity } from '@stade/transformer';
import { describe, expect, it } from 'vitest';
import { contiguousWindows, pruneModel } from '../src/index.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

interface Run {
  method: 'magnitude' | 'wanda' | 'stade' | 'stadew' | 'sparsegpt' | 'sparsegpt-noupdate';
  pattern: string;
  group: 'row' | 'layer';
  sparsity: number;
  ppl: number;
  masks: Record<string, string>;
  biases: Record<string, number[]>;
  kept_weights?: { file: string; layers: string[] };
}
interface Reference {
  calibration: { nsamples: number; seqlen: number; ids: number[] };
  eval: { seqlen: number; ids: number[]; dense_ppl: number };
  runs: Run[];
}

function unpack(b64: string, n: number): Uint8Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = (bytes[k >> 3]! >> (k & 7)) & 1;
  return out;
}

for (const name of ['opt-pre', 'llama-gqa']) {
  describe(`against PyTorch: ${name}`, () => {
    const dir = here(`./fixtures/${name}/`);
    const ref = JSON.parse(readFileSync(`${dir}reference.json`, 'utf8')) as Reference;
    const modelDir = here(`../../transformer/test/fixtures/${name}`);
    const windows = contiguousWindows(Int32Array.from(ref.calibration.ids), ref.calibration);
    const evalIds = Int32Array.from(ref.eval.ids);

    it('dense perplexity agrees', () => {
      const m = loadModel(modelDir);
      expect(perplexity(m, evalIds, { seqlen: ref.eval.seqlen }).ppl / ref.eval.dense_ppl - 1).toBeCloseTo(0, 4);
    });

    for (const run of ref.runs) {
      it(`${run.method} ${run.pattern} ${run.group}: masks, weights, biases and perplexity`, () => {
        const model = loadModel(modelDir);
        const pattern = run.pattern === 'unstructured' ? 'unstructured' : run.pattern;
        pruneModel(model, windows, {
          method: run.method,
          sparsity: pattern === 'unstructured' ? run.sparsity : undefined,
          pattern,
          group: run.group,
          layerMetricWindows: 0,
        });
        let kept: Float32Array | null = null;
        if (run.kept_weights) {
          const buf = readFileSync(`${dir}${run.kept_weights.file}`);
          kept = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        }
        let keptAt = 0;
        let maxRel = 0;
        for (const [layer, b64] of Object.entries(run.masks)) {
          const l = model.getLinear(layer);
          const w = l.weight.values();
          const mask = unpack(b64, w.length);
          let mismatches = 0;
          for (let k = 0; k < w.length; k++) if ((w[k] === 0 ? 1 : 0) !== mask[k]) mismatches++;
          // Random fixture weights have no ties, so the masks must agree exactly.
          expect(mismatches, `${layer}: ${mismatches} mask entries differ`).toBe(0);
          if (kept) {
            let num = 0;
            let den = 0;
            for (let k = 0; k < w.length; k++) {
              if (mask[k]) continue;
              const r = kept[keptAt++]!;
              num = Math.max(num, Math.abs(w[k]! - r));
              den = Math.max(den, Math.abs(r));
            }
            maxRel = Math.max(maxRel, num / den);
          }
          const bias = run.biases[layer];
          if (bias) {
            expect(l.bias, `${layer} has a corrected bias`).not.toBeNull();
            const b = l.bias!.values();
            bias.forEach((v, i) => {
              expect(Math.abs(b[i]! - v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)));
            });
          }
        }
        if (kept) {
          expect(keptAt).toBe(kept.length);
          expect(maxRel).toBeLessThan(1e-4);
        }
        const ppl = perplexity(model, evalIds, { seqlen: ref.eval.seqlen }).ppl;
        expect(Math.abs(ppl / run.ppl - 1)).toBeLessThan(1e-3);
      });
    }
  });
}
