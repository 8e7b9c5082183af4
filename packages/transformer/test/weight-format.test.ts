// --weights at load time: the measured sparsity and 2:4 test against a naive count, the choice rule, and every
// converted format running `linear` to the dense result (exact formats to float rounding, f32 -> f16 to f16's).
import { encodeBf16, HalfTensor, linear, Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTO_SPARSE_MIN,
  applyWeightFormat,
  Checkpoint,
  chooseFormat,
  convertWeight,
  type LayerChoice,
  MemorySource,
  measureWeight,
  modelFromSource,
  summarizeChoices,
  weightFormHook,
} from '../src/index.js';
import { loadFixture, relMaxError } from './fixtures.js';

/** A weight `[n, k]` with the given zero pattern: 'none', '2:4' (2 of every 4 zero), or a fraction at random. */
function pruned(n: number, k: number, pattern: 'none' | '2:4' | number, seed: number): Tensor {
  const w = randn([n, k], seed);
  const d = w.values();
  let s = seed * 7919 + 1;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
  for (let r = 0; r < n; r++)
    for (let j = 0; j < k; j++) {
      const i = r * k + j;
      if (pattern === '2:4' && j % 4 >= 2) d[i] = 0;
      else if (typeof pattern === 'number' && rnd() < pattern) d[i] = 0;
    }
  return w;
}

function toBf16(w: Tensor): HalfTensor {
  const src = w.values();
  return new HalfTensor('bf16', encodeBf16(src, new Uint16Array(src.length)), w.shape);
}

function naive(w: Tensor): { sparsity: number; is24: boolean } {
  const [n, k] = w.shape as [number, number];
  let zeros = 0;
  let is24 = true;
  for (let r = 0; r < n; r++)
    for (let g = 0; g < k; g += 4) {
      let nz = 0;
      for (let j = g; j < Math.min(k, g + 4); j++) {
        if (w.get(r, j) === 0) zeros++;
        else nz++;
      }
      if (nz > 2) is24 = false;
    }
  return { sparsity: zeros / (n * k), is24 };
}

const arbCase = fc.record({
  n: fc.integer({ min: 1, max: 9 }),
  k: fc.integer({ min: 1, max: 37 }),
  pattern: fc.oneof(
    fc.constant<'none' | '2:4'>('none'),
    fc.constant<'none' | '2:4'>('2:4'),
    fc.double({ min: 0, max: 1, noNaN: true }),
  ),
  seed: fc.nat(10_000),
});

describe('weight formats', () => {
  it('measures sparsity and the 2:4 pattern like a naive count (float32 and bf16, odd shapes)', () => {
    fc.assert(
      fc.property(arbCase, ({ n, k, pattern, seed }) => {
        const w = pruned(n, k, pattern, seed);
        const want = naive(w);
        expect(measureWeight(w)).toEqual(want);
        expect(measureWeight(toBf16(w))).toEqual(naive(toBf16(w).toFloat32()));
      }),
    );
  });

  it('every format computes the dense result (odd shapes, 2:4 and unstructured patterns)', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 1, max: 5 }), ({ n, k, pattern, seed }, T) => {
        const x = randn([T, k], seed + 1);
        for (const w of [pruned(n, k, pattern, seed), toBf16(pruned(n, k, pattern, seed))]) {
          const dense = w instanceof HalfTensor ? w.toFloat32() : w;
          const want = linear(x, dense).values();
          const m = measureWeight(w);
          for (const f of ['dense', 'f16', 'sparse', 'auto'] as const) {
            const chosen = chooseFormat(f, w, m);
            const got = linear(x, convertWeight(w, chosen)).values();
            const tol = chosen === 'f16' && !(w instanceof HalfTensor) ? 2e-3 : 1e-5;
            for (let i = 0; i < want.length; i++)
              expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!)) * Math.sqrt(k));
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('chooses per layer: dense, 16-bit, 2:4 when the pattern allows, unstructured sparse from the threshold', () => {
    const dense = pruned(8, 512, 'none', 1);
    const two4 = pruned(8, 512, '2:4', 2);
    const s90 = pruned(8, 512, 0.9, 3);
    const s60 = pruned(8, 512, 0.6, 4); // below the threshold (0.7): dense
    const s75 = pruned(8, 512, 0.75, 6); // above it: packed
    const narrow75 = pruned(8, 64, 0.75, 5);
    const c = (f: Parameters<typeof chooseFormat>[0], w: Tensor | HalfTensor) => chooseFormat(f, w, measureWeight(w));
    expect([dense, two4, s90, s75, s60, narrow75].map((w) => c('auto', w))).toEqual([
      'f32',
      '2:4',
      'sparse',
      'sparse',
      'f32',
      'f32',
    ]);
    expect([dense, two4, s90, s75, s60].map((w) => c('auto', toBf16(w)))).toEqual([
      'bf16',
      '2:4',
      'sparse',
      'sparse',
      'bf16',
    ]);
    expect([dense, two4, s60].map((w) => c('sparse', w))).toEqual(['sparse', '2:4', 'sparse']);
    expect([dense, toBf16(dense)].map((w) => c('f16', w))).toEqual(['f16', 'bf16']);
    expect([toBf16(two4)].map((w) => c('dense', w))).toEqual(['f32']);
    const big = Tensor.from([1e5, 0, 0, 1], [1, 4]);
    expect(c('f16', big)).toBe('bf16');
    expect(AUTO_SPARSE_MIN).toBe(0.7);
  });

  it('auto packs a layer pruned to 70% per row (floor(0.7 * inputs) zeros: 1433 of 2048) and not one zero fewer', () => {
    for (const k of [256, 768, 2048, 5632]) {
      const zeros = Math.floor(0.7 * k);
      const row = (z: number) => Array.from({ length: k }, (_, j) => (j < z ? 0 : 1 + (j % 7)));
      const at = Tensor.from([...row(zeros), ...row(zeros)], [2, k]);
      const below = Tensor.from([...row(zeros), ...row(zeros - 1)], [2, k]);
      expect(chooseFormat('auto', toBf16(at), measureWeight(toBf16(at))), `${k} inputs`).toBe('sparse');
      expect(chooseFormat('auto', toBf16(below), measureWeight(toBf16(below))), `${k} inputs`).toBe('bf16');
    }
  });

  it('the hook records every choice and returns the converted weight', () => {
    const seen: LayerChoice[] = [];
    const hook = weightFormHook('auto', (ch) => seen.push(ch));
    const w = pruned(4, 256, '2:4', 9);
    const out = hook('model.layers.0.mlp.up_proj', w);
    expect(seen).toEqual([{ name: 'model.layers.0.mlp.up_proj', format: '2:4', sparsity: 0.5, is24: true }]);
    expect(out).not.toBe(w);
    expect(() => chooseFormat('fast' as never, w, measureWeight(w))).toThrow(/unknown weight format 'fast'/);
  });
});

describe('applyWeightFormat on a model', () => {
  /** The llama-gqa fixture with every block linear weight 2:4-pruned (2 smallest |w| of each 4), in memory. */
  function pruned24(): ReturnType<typeof modelFromSource> {
    const ckpt = Checkpoint.open(loadFixture('llama-gqa').dir);
    const probe = modelFromSource(ckpt);
    const linears = new Set<string>();
    for (let i = 0; i < probe.numBlocks; i++) for (const n of probe.linearNames(i)) linears.add(`${n}.weight`);
    const tensors: [string, Tensor][] = [];
    for (const name of ckpt.names()) {
      const t = ckpt.get(name).clone();
      if (linears.has(name)) {
        const d = t.values();
        for (let g = 0; g < d.length; g += 4) {
          const o = [0, 1, 2, 3].sort((a, b) => Math.abs(d[g + a]!) - Math.abs(d[g + b]!) || a - b);
          d[g + o[0]!] = 0;
          d[g + o[1]!] = 0;
        }
      }
      tensors.push([name, t]);
    }
    const src = new MemorySource(ckpt.config, tensors, ckpt.dir);
    ckpt.close();
    return modelFromSource(src);
  }

  it('every format gives the dense logits (1e-5) and the choices name every layer', () => {
    const fx = loadFixture('llama-gqa');
    const want = pruned24().forward(fx.ids).values();
    for (const [format, expected] of [
      ['sparse', '2:4'],
      ['auto', '2:4'],
      ['dense', 'f32'],
    ] as const) {
      const model = pruned24();
      const choices = applyWeightFormat(model, format);
      const got = model.forward(fx.ids).values();
      expect(relMaxError(got, want)).toBeLessThan(1e-5);
      expect(choices.length).toBe(model.numBlocks * 7);
      expect(new Set(choices.map((c) => c.format))).toEqual(new Set([expected]));
      expect(summarizeChoices(choices)).toBe(`${model.numBlocks * 7} ${expected}`);
    }
  });
});
