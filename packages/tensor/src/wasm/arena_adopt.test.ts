import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, setThreads } from '../config.js';
import { HalfTensor } from '../half.js';
import { linear } from '../ops/matmul.js';
import { poolInfo, resetJobRegistryForTests, shutdownPool, warmPool } from '../parallel/pool.js';
import { randn } from '../testing/index.js';
import { adoptArena, arenaMemory, arenaOf, arenaScratch, arenaTop } from './arena.js';
import { makeResident, releaseResident } from './resident.js';
import { residentWasm } from './resident_runtime.js';
import { simdSupported } from './runtime.js';

afterAll(() => shutdownPool());

const can = simdSupported() && arenaMemory() !== null;
const bits = (a: Float32Array) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe.runIf(can)('an arena received again as a new Memory object (registry reset)', () => {
  setBackend('wasm');

  it('is the same arena to this thread: one state, one scratch, one instance', () => {
    const w = makeResident(HalfTensor.fromFloat32(randn([64, 256], 1), 'bf16'));
    const mem = arenaOf(w.data)!;
    const clone = structuredClone(mem); // what a worker gets when the arena is registered again
    expect(clone).not.toBe(mem);
    expect(adoptArena(clone)).toBe(mem);
    const s = arenaScratch(4096, mem);
    const top = arenaTop(mem);
    expect(arenaScratch(4096, clone)).toBe(s);
    expect(residentWasm(clone)).toBe(residentWasm(mem));
    expect(arenaTop(clone)).toBe(top);
    releaseResident(w);
  });

  it('a pool worker keeps its scratch across re-registrations: the arena top does not move', async () => {
    setThreads(2);
    await warmPool();
    // [4096, 1024] bf16: a decode product worth splitting across both threads
    const dense = randn([4096, 1024], 2, 0.05);
    const w = makeResident(HalfTensor.fromFloat32(dense, 'bf16'));
    const mem = arenaOf(w.data)!;
    const x = randn([1, 1024], 3);
    const want = bits(linear(x, w).values());
    for (let i = 0; i < 20; i++) linear(x, w); // every thread has taken its scratch in this arena
    const top = arenaTop(mem);
    for (let round = 0; round < 5; round++) {
      resetJobRegistryForTests(); // the workers are sent the arena again, as a new Memory object
      const before = poolInfo();
      for (let i = 0; i < 20; i++) expect(bits(linear(x, w).values())).toEqual(want);
      const after = poolInfo();
      // the worker ran some of the chunks itself (else this round proves nothing)
      expect(after.parallelCalls - before.parallelCalls).toBeGreaterThan(after.stolenChunks - before.stolenChunks);
    }
    // before the fix each re-registration took another 1 MiB scratch region (and compiled another instance)
    expect(arenaTop(mem)).toBe(top);
    releaseResident(w);
    setThreads(1);
  });
});
