import { Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectMask } from '../mask.js';
import { LayerStats } from '../stats.js';
import {
  computeScores,
  effectiveMethod,
  magnitudeScores,
  randomScores,
  stadeScores,
  stadeStarScores,
  wandaScores,
} from './index.js';

function statsOf(x: Tensor, seqLen: number): LayerStats {
  const st = new LayerStats(x.shape[1]!);
  for (let r = 0; r < x.shape[0]!; r += seqLen) st.update(x.narrow(0, r, Math.min(seqLen, x.shape[0]! - r)));
  return st;
}

describe('scores', () => {
  it('follow the SPEC 4 formulas', () => {
    const w = randn([3, 5], 1);
    const x = randn([12, 5], 2, 1.5, 0.7);
    const st = statsOf(x, 4);
    const m = st.mean();
    const v = st.variance();
    const sc = st.scaler();
    const mag = magnitudeScores(w);
    const wa = wandaScores(w, st);
    const sd = stadeScores(w, st);
    const ss = stadeStarScores(w, st);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 5; j++) {
        const a = w.get(i, j);
        const k = i * 5 + j;
        expect(mag[k]).toBe(Math.fround(Math.abs(a)));
        expect(wa[k]).toBeCloseTo(Math.abs(a) * Math.sqrt(sc[j]!), 5);
        expect(sd[k]).toBeCloseTo(a * a * v[j]!, 5);
        expect(ss[k]).toBeCloseTo(a * a * (v[j]! + m[j]! * m[j]!), 5);
      }
    }
    expect(sc[0]).toBeCloseTo(
      x
        .toArray()
        .filter((_, k) => k % 5 === 0)
        .reduce((s, a) => s + a * a, 0) / 3,
      6,
    );
  });

  it('stade, stade-star and wanda pick identical masks when every column mean is 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(2, 3, 8, 11),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        arbS(),
        (out, inp, half, seed, s) => {
          // Rows x and -x with integer entries: every column sum is exactly 0.
          const base = randn([half, inp], seed, 3);
          const rows: number[] = [];
          for (let r = 0; r < half; r++)
            for (const sign of [1, -1]) for (let j = 0; j < inp; j++) rows.push(sign * Math.round(base.get(r, j)) + 0);
          const st = statsOf(Tensor.from(rows, [2 * half, inp]), 2);
          expect(Array.from(st.mean()).every((a) => a === 0)).toBe(true);
          const w = randn([out, inp], seed + 1);
          for (const group of ['row', 'layer'] as const) {
            const ref = selectMask(wandaScores(w, st), out, inp, { sparsity: s, group });
            expect(selectMask(stadeScores(w, st), out, inp, { sparsity: s, group })).toEqual(ref);
            expect(selectMask(stadeStarScores(w, st), out, inp, { sparsity: s, group })).toEqual(ref);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('random is seeded, deterministic per layer name and standard normal', () => {
    const w = Tensor.zeros([100, 100]);
    const a = randomScores(w, 7, 'fc1');
    expect(randomScores(w, 7, 'fc1')).toEqual(a);
    expect(randomScores(w, 8, 'fc1')).not.toEqual(a);
    expect(randomScores(w, 7, 'fc2')).not.toEqual(a);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
  });

  it('stadew uses stade for o_proj/down_proj/out_proj/fc2 and wanda elsewhere', () => {
    expect(effectiveMethod('stadew', 'model.layers.0.self_attn.o_proj')).toBe('stade');
    expect(effectiveMethod('stadew', 'model.layers.3.mlp.down_proj')).toBe('stade');
    expect(effectiveMethod('stadew', 'model.decoder.layers.1.self_attn.out_proj')).toBe('stade');
    expect(effectiveMethod('stadew', 'model.decoder.layers.1.fc2')).toBe('stade');
    expect(effectiveMethod('stadew', 'model.decoder.layers.1.fc1')).toBe('wanda');
    expect(effectiveMethod('stadew', 'model.layers.0.mlp.gate_proj')).toBe('wanda');
    expect(effectiveMethod('stadew-star', 'model.decoder.layers.1.fc2')).toBe('stade-star');
    const w = randn([2, 3], 1);
    const st = statsOf(randn([6, 3], 2), 3);
    expect(computeScores('stadew', w, st, { layerName: 'x.fc2' })).toEqual(stadeScores(w, st));
    expect(computeScores('stadew', w, st, { layerName: 'x.fc1' })).toEqual(wandaScores(w, st));
  });

  it('need statistics of the right width', () => {
    const w = randn([2, 3], 1);
    expect(() => wandaScores(w, null)).toThrow(/wanda: calibration statistics are required/);
    expect(() => stadeScores(w, new LayerStats(4))).toThrow(/4 columns, weight has 3 inputs/);
  });
});

function arbS() {
  return fc.double({ min: 0, max: 0.95, noNaN: true });
}
