import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, setThreads } from '../config.js';
import { HalfTensor } from '../half.js';
import { decodeAttention, decodeAttentionSupported, residentF32 } from '../ops/attention_decode.js';
import { linear, linearGroup } from '../ops/matmul.js';
import { packWeight } from '../packed.js';
import { shutdownPool } from '../parallel/pool.js';
import type { Tensor } from '../tensor.js';
import { randn } from '../testing/index.js';
import { arenaCount, arenaFree, arenaLiveBytes, arenaMemory, arenaOf, setArenaCapForTests } from './arena.js';
import { isResident, makeResident, packResident, releaseResident } from './resident.js';
import { simdSupported } from './runtime.js';

// Arenas of 16 MiB (256 pages) instead of 4 GiB: a few MB of weights spread over several of them, as a 7B model's
// 13.5 GB spread over four. This file runs in its own worker, so no arena exists before the cap is set.
setArenaCapForTests(256);
afterAll(() => shutdownPool());

const can = simdSupported() && arenaMemory() !== null;

/** W [n, k] with every group of 4 inputs keeping its 2 largest |w| (2:4). */
function pruned24(n: number, k: number, seed: number): Tensor {
  const w = randn([n, k], seed);
  const d = w.data;
  for (let i = 0; i < n * k; i += 4) {
    const idx = [0, 1, 2, 3].sort((a, b) => Math.abs(d[i + a]!) - Math.abs(d[i + b]!));
    d[i + idx[0]!] = 0;
    d[i + idx[1]!] = 0;
  }
  return w;
}

const bits = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(t.values()).buffer));
const same = (a: Tensor, b: Tensor) => expect(bits(a)).toEqual(bits(b));

describe.runIf(can)('several resident arenas (models over 4 GiB)', () => {
  setBackend('wasm');

  it('spreads weights over arenas; every format reads in place with the bits of the copying path, 1 and 2 threads', () => {
    // [1000, 1024] float32 = 4 MB: three per 16 MiB arena (its top 4 MiB stay for kernel scratch)
    const plain = [0, 1, 2, 3, 4, 5, 6].map((s) => randn([1000, 1024], 10 + s, 0.05));
    const res = plain.map((w, i) =>
      i % 3 === 0 ? makeResident(w) : i % 3 === 1 ? makeResident(HalfTensor.fromFloat32(w, 'bf16')) : w,
    );
    const p24 = pruned24(1000, 1024, 30);
    const packed = packResident(p24, '2:4');
    const all = [...res, packed];
    expect(all.filter((_, i) => i % 3 !== 2 || i === 7).every((w) => isResident(w as never))).toBe(true);
    expect(arenaCount()).toBeGreaterThanOrEqual(2);
    const arenas = new Set(
      all.filter((w) => isResident(w as never)).map((w) => arenaOf('values' in w ? w.values : w.data)),
    );
    expect(arenas.size).toBeGreaterThanOrEqual(2);
    const x = randn([1, 1024], 99);
    const want = (i: number) => {
      const w = plain[i]!;
      return linear(x, i % 3 === 1 ? HalfTensor.fromFloat32(w, 'bf16') : w); // the copying path
    };
    for (const t of [1, 2]) {
      setThreads(t);
      for (let i = 0; i < res.length; i++) same(linear(x, res[i]!), want(i));
      same(linear(x, packed), linear(x, packWeight(p24, '2:4')));
    }
    for (const w of all) releaseResident(w);
    expect(arenaLiveBytes()).toBe(0);
  });

  it('runs a group whose weights sit in different arenas one by one, with the same results', () => {
    const ws = [0, 1, 2, 3].map((s) => makeResident(randn([1000, 1024], 40 + s, 0.05)));
    const where = new Set(ws.map((w) => arenaOf((w as Tensor).data)));
    expect(where.size).toBeGreaterThanOrEqual(2);
    const x = randn([1, 1024], 7);
    for (const t of [1, 2]) {
      setThreads(t);
      const outs = linearGroup(x, ws);
      for (const [i, w] of ws.entries()) same(outs[i]!, linear(x, w));
    }
    for (const w of ws) releaseResident(w);
  });

  it('reuses freed room before opening an arena, and refuses what no arena can hold', () => {
    const a = makeResident(randn([1000, 1024], 50));
    const n = arenaCount();
    releaseResident(a);
    const b = makeResident(randn([1000, 1024], 51));
    expect(arenaCount()).toBe(n);
    const huge = randn([5000, 1024], 52); // 20 MB: more than one arena holds
    expect(makeResident(huge)).toBe(huge);
    releaseResident(b);
  });

  it("keeps a cache block's keys and values in one arena for the fused attention", () => {
    const [H, D, L] = [4, 16, 64];
    const filler = makeResident(randn([2900, 1024], 60)); // 11.9 MB: the next arrays may not fit beside it
    const keys = residentF32(H * L * D)!;
    const values = residentF32(H * L * D, keys)!;
    expect(arenaOf(values)).toBe(arenaOf(keys));
    expect(decodeAttentionSupported(keys, values, D)).toBe(true);
    keys.set(randn([H * L * D], 61).data);
    values.set(randn([H * L * D], 62).data);
    const q = randn([H * D], 63).data;
    const spec = { heads: H, kvHeads: H, headDim: D, maxLen: L, length: 40 };
    setThreads(1);
    const one = decodeAttention(q, keys, values, spec).slice();
    setThreads(2);
    expect(decodeAttention(q, keys, values, spec)).toEqual(one);
    arenaFree(keys);
    arenaFree(values);
    releaseResident(filler);
  });
});
