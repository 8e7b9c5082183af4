// Loading for decode owns its memory: the weight-format hook writes every layer straight into the resident arena
// from its stored form, so a layer costs the arena exactly its resident arrays and allocates nothing else of its
// size (no float32 or 16-bit copy of the weight left to the garbage collector). Counted exactly, GC-independent.
import {
  arenaLiveBytes,
  encodeBf16,
  HalfTensor,
  isResident,
  PackedWeight,
  releaseResident,
  type Tensor,
} from '@stade/tensor';
import { randn, storageUse } from '@stade/tensor/testing';
import { describe, expect, it } from 'vitest';
import { type LayerChoice, weightFormHook } from '../src/index.js';

const can = (() => {
  const w = weightFormHook('f16')('probe', randn([16, 16], 1));
  const ok = isResident(w);
  releaseResident(w);
  return ok;
})();

/** W [n, k] with 2 of every 4 inputs zero, as float32 or bf16. */
function pruned24(n: number, k: number, seed: number, bf16: boolean): Tensor | HalfTensor {
  const w = randn([n, k], seed);
  const d = w.values();
  for (let i = 0; i < d.length; i++) if (i % 4 >= 2) d[i] = 0;
  return bf16 ? new HalfTensor('bf16', encodeBf16(d, new Uint16Array(d.length)), w.shape) : w;
}

/** Arena bytes of arrays of these byte lengths (64-byte blocks, 64 bytes of slack each). */
const arenaBytes = (lens: number[]) => lens.reduce((a, b) => a + Math.ceil((b + 64) / 64) * 64, 0);

describe.skipIf(!can)('the weight-format hook: what one layer allocates', () => {
  const n = 512;
  const k = 1024; // a float32 copy would be 2 MB, a 16-bit one 1 MB
  for (const bf16 of [true, false])
    for (const format of ['auto', 'sparse', 'dense', 'f16'] as const)
      it(`${format} from ${bf16 ? 'bf16' : 'f32'}: the arena holds the layer's arrays; nothing else of its size`, () => {
        const w = pruned24(n, k, 3, bf16);
        const before = arenaLiveBytes();
        const seen: LayerChoice[] = [];
        const hook = weightFormHook(format, (c) => seen.push(c));
        let out: ReturnType<typeof hook> | null = null;
        const use = storageUse(() => {
          out = hook('model.layers.0.mlp.up_proj', w);
        });
        const r = out as unknown as ReturnType<typeof hook>;
        expect(isResident(r)).toBe(true);
        const arrays =
          r instanceof PackedWeight
            ? [r.values, r.index, r.quads, r.rowPtr].filter((a): a is NonNullable<typeof a> => !!a && a.byteLength > 0)
            : [r.data];
        expect(arenaLiveBytes() - before).toBe(arenaBytes(arrays.map((a) => a.byteLength)));
        expect(use.bytes).toBeLessThanOrEqual(8 * (n + 1) + 64); // 'sparse' row offsets at most
        expect(seen.map((c) => c.format)).toEqual([
          { auto: '2:4', sparse: '2:4', dense: 'f32', f16: bf16 ? 'bf16' : 'f16' }[format],
        ]);
        releaseResident(r);
        expect(arenaLiveBytes()).toBe(before);
      });
});
