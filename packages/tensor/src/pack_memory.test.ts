// Packing reads the source's bit patterns in place: the packed arrays equal a naive packer's (which widens the
// whole weight to float32 first, as the packer did before), and packing a layer into the arena allocates the
// packed arrays only (no float32 or 16-bit copy of the weight), counted exactly, independent of the GC.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HalfDtype, HalfTensor } from './half.js';
import {
  BLOCK_2_4,
  group24,
  PAIR_SEQ,
  PAIR_SLOT,
  PAIR_SLOT_BYTES,
  type PackedWeight,
  type PackFormat,
  packWeight,
  SLOT_SEQ,
  SLOT_WINDOWS,
  SPARSE_BLOCK,
  stored24,
} from './packed.js';
import { Tensor } from './tensor.js';
import { arbDim, mulberry32, randn, storageUse } from './testing/index.js';
import { arenaLiveBytes, arenaMemory } from './wasm/arena.js';
import { packResident, releaseResident, residentAs } from './wasm/resident.js';
import { simdSupported } from './wasm/runtime.js';

type Dtype = 'f32' | HalfDtype;
const can = simdSupported() && arenaMemory() !== null;

/** W [n, k]: 2:4 keeps 0-2 of every 4 (some kept values -0), else each weight is zero with probability `s`. */
function pruned(n: number, k: number, format: PackFormat, s: number, seed: number, dtype: Dtype): Tensor | HalfTensor {
  const w = randn([n, k], seed, 0.5);
  const r = mulberry32(seed + 1);
  for (let j = 0; j < n; j++)
    for (let g = 0; g < k; g += 4)
      for (let p = 0; p < 4 && g + p < k; p++) {
        const drop = format === '2:4' ? p >= Math.floor(r() * 3) : r() < s;
        if (drop) w.data[j * k + g + p] = r() < 0.1 ? -0 : 0;
      }
  return dtype === 'f32' ? w : HalfTensor.fromFloat32(w, dtype);
}

/** The packer as it was: widen W to float32, test zeros there, copy the raw values (the naive reference). */
function naivePack(w: Tensor | HalfTensor, format: PackFormat) {
  const [n, k] = w.shape as [number, number];
  const dense = w instanceof HalfTensor ? w.toFloat32().data : w.data;
  const raw = w.data;
  const half = w instanceof HalfTensor;
  if (format === '2:4') {
    const kp = Math.ceil(Math.max(k, 1) / 16) * 16;
    const values = half ? new Uint16Array((n * kp) / 2) : new Float32Array((n * kp) / 2);
    const index = new Uint8Array((n * kp) / 8);
    for (let j = 0; j < n; j++)
      for (let q = 0; q < kp / 4; q += 2) {
        // the slot of groups q, q + 1: each group's kept positions filled up to a pair with the lowest zero ones
        const want: number[] = [];
        for (const h of [0, 1]) {
          const pos: number[] = [];
          for (let p = 0; p < 4 && 4 * (q + h) + p < k; p++) if (dense[j * k + 4 * (q + h) + p] !== 0) pos.push(p);
          for (let p = 0; pos.length < 2; p++) if (!pos.includes(p)) pos.push(p);
          want.push(...pos.map((p) => p + 4 * h));
        }
        const key = String(want.sort());
        let w = 0;
        while (String(SLOT_SEQ.slice(w, w + 4).sort()) !== key) w++;
        expect(w).toBeLessThan(SLOT_WINDOWS);
        const { v, m } = group24(n, kp, j, q);
        index[m] = 4 * w;
        for (let l = 0; l < 4; l++) {
          const col = 4 * q + SLOT_SEQ[w + l]!;
          if (col < k && dense[j * k + col] !== 0) values[stored24(v + l, half)] = raw[j * k + col]!;
        }
      }
    return { values, index, quads: new Uint8Array(0) };
  }
  // 'sparse': blocks one after the other, each row after row; per pair slot its kept positions paired in order
  // (an odd last one with the lowest other position of 0, 1 as a zero value), each pair at the first window of
  // PAIR_SEQ holding it; a row's pairs in a block padded with zero pairs to a multiple of 4
  const nb = Math.ceil(Math.max(k, 1) / SPARSE_BLOCK);
  const slots = SPARSE_BLOCK / PAIR_SLOT;
  const values: number[] = [];
  const index: number[] = [];
  const quads = new Uint8Array(n * nb);
  for (let b = 0; b < nb; b++)
    for (let j = 0; j < n; j++) {
      const start = values.length;
      for (let t = b * slots; t < (b + 1) * slots; t++) {
        const pos: number[] = [];
        for (let p = 0; p < PAIR_SLOT && PAIR_SLOT * t + p < k; p++)
          if (dense[j * k + PAIR_SLOT * t + p] !== 0) pos.push(p);
        for (let i = 0; i < pos.length; i += 2) {
          const a = pos[i]!;
          const c = i + 1 < pos.length ? pos[i + 1]! : a === 0 ? 1 : 0;
          let w = 0;
          while (String([PAIR_SEQ[w], PAIR_SEQ[w + 1]].sort()) !== String([a, c].sort())) w++;
          const meta = (t - b * slots) * PAIR_SLOT_BYTES + 4 * w;
          index.push(meta & 255, meta >> 8);
          for (let l = 0; l < 2; l++) {
            const p = PAIR_SEQ[w + l]!;
            values.push(p === a || (p === c && i + 1 < pos.length) ? raw[j * k + PAIR_SLOT * t + p]! : 0);
          }
        }
      }
      while ((values.length - start) % 8) {
        values.push(0);
        index.push(0);
      }
      quads[b * n + j] = (values.length - start) / 8;
    }
  return { values: half ? Uint16Array.from(values) : Float32Array.from(values), index: Uint8Array.from(index), quads };
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('packWeight: the packed arrays', () => {
  it('equal the naive packer bit for bit: any format, dtype and shape (odd k, -0, blocks past BLOCK_2_4)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<PackFormat>('2:4', 'sparse'),
        fc.constantFrom<Dtype>('f32', 'bf16', 'f16'),
        arbDim(20),
        fc.oneof(arbDim(40), fc.integer({ min: BLOCK_2_4 - 3, max: 2 * BLOCK_2_4 + 21 })),
        fc.constantFrom(0, 0.5, 0.7, 1),
        fc.nat(1000),
        (format, dtype, n, k, s, seed) => {
          const w = pruned(n, k, format, s, seed, dtype);
          const want = naivePack(w, format);
          const got = packWeight(w, format);
          for (const key of ['values', 'index', 'quads'] as const)
            expect(bytesOf(got[key]).equals(bytesOf(want[key]))).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('read a strided or offset float32 weight by its values', () => {
    const w = pruned(6, 40, 'sparse', 0.6, 3, 'f32') as Tensor;
    const big = Tensor.zeros([7, 40]);
    big.data.set(w.data, 40);
    const view = new Tensor(big.data, [6, 40], undefined, 40);
    expect(Array.from(packWeight(view, 'sparse').values)).toEqual(Array.from(packWeight(w, 'sparse').values));
    const t = pruned(40, 6, 'sparse', 0.6, 4, 'f32') as Tensor;
    const strided = new Tensor(t.data, [6, 40], [1, 6]); // t transposed
    const want = Tensor.from(Array.from(strided.values()), [6, 40]);
    expect(Array.from(packWeight(strided, 'sparse').values)).toEqual(Array.from(packWeight(want, 'sparse').values));
  });
});

/** Arena bytes of arrays of these byte lengths (64-byte blocks, 64 bytes of slack each). */
const arenaBytes = (...lens: number[]) => lens.reduce((a, b) => a + Math.ceil((b + 64) / 64) * 64, 0);

describe.skipIf(!can)('packing into the arena: what one layer allocates', () => {
  // a [768, 1000] layer: 768k weights; a float32 copy of it would be 3 MB, a 16-bit one 1.5 MB
  const n = 768;
  const k = 1000;
  for (const dtype of ['bf16', 'f16', 'f32'] as const)
    for (const format of ['2:4', 'sparse'] as const)
      it(`${format} from ${dtype}: the arena holds exactly the packed arrays; outside it only the row offsets`, () => {
        const w = pruned(n, k, format, 0.7, 5, dtype);
        const before = arenaLiveBytes();
        let p: PackedWeight | null = null;
        const use = storageUse(() => {
          p = packResident(w, format);
        });
        const q = p as unknown as PackedWeight;
        const arrays = [q.values, q.index, q.quads, q.rowPtr].filter((a) => a && a.byteLength > 0) as ArrayBufferView[];
        expect(arenaLiveBytes() - before).toBe(arenaBytes(...arrays.map((a) => a.byteLength)));
        // outside the arena: the 'sparse' row offsets (float64, blocks * n + 1) and the 2:4 empty ones, nothing else
        expect(use.bytes).toBeLessThanOrEqual(8 * (Math.ceil(k / SPARSE_BLOCK) * n + 1) + 64);
        expect(use.buffers).toBeLessThanOrEqual(2);
        releaseResident(q);
        expect(arenaLiveBytes()).toBe(before);
      });

  it('residentAs converts straight into the arena: exact values, nothing allocated outside it', () => {
    const before = arenaLiveBytes();
    const f = randn([300, 257], 9, 3);
    f.data[5] = 1e6; // beyond f16's range: inf
    f.data[6] = -0;
    for (const from of ['f32', 'bf16', 'f16'] as const)
      for (const to of ['f32', 'bf16', 'f16'] as const) {
        const w = from === 'f32' ? f : HalfTensor.fromFloat32(f, from);
        const wide = w instanceof HalfTensor ? w.toFloat32() : w;
        const want = to === 'f32' ? wide : HalfTensor.fromFloat32(wide, to);
        let got: Tensor | HalfTensor | null = null;
        const use = storageUse(() => {
          got = residentAs(w, to);
        });
        const r = got as unknown as Tensor | HalfTensor;
        expect(use.bytes).toBe(0);
        expect(arenaLiveBytes() - before).toBe(arenaBytes(300 * 257 * (to === 'f32' ? 4 : 2)));
        expect(r.shape).toEqual([300, 257]);
        expect(r instanceof HalfTensor ? r.dtype : 'f32').toBe(to);
        expect(bytesOf(r.data).equals(bytesOf(want.data))).toBe(true);
        releaseResident(r);
      }
    expect(arenaLiveBytes()).toBe(before);
  });
});
