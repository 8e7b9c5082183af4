import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/storage.js', import.meta.url));

// Allocates and drops `count` shared buffers of 32 MB, touching every page, and prints the peak resident size.
const script = (threshold: number | null, count: number) => `
  const s = await import(${JSON.stringify(dist)});
  ${threshold ? `s.setSharedGcThreshold(${threshold});` : ''}
  let peak = 0;
  for (let i = 0; i < ${count}; i++) {
    const a = s.allocF32(8 << 20);
    for (let k = 0; k < a.length; k += 1024) a[k] = 1;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  console.log(peak);
`;

const peakMb = (threshold: number | null, count: number) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(threshold, count)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim()) / 2 ** 20;
};

describe('allocF32 on shared memory', () => {
  it('dropped shared tensors are reclaimed: 1.25 GB allocated in 32 MB pieces never holds more than ~0.5 GB', () => {
    // With a 256 MB threshold the process must stay far below the 1.25 GB it allocates in total.
    expect(peakMb(256 << 20, 40)).toBeLessThan(700);
  });

  it('storageStats counts every allocation, monotonically', async () => {
    const s = await import('./storage.js');
    const before = s.storageStats();
    s.allocF32(10);
    s.allocF64(3);
    s.allocF32(0);
    const after = s.storageStats();
    expect(after.sharedBytesAllocated - before.sharedBytesAllocated).toBe(10 * 4 + 3 * 8);
    expect(after.buffersAllocated - before.buffersAllocated).toBe(3);
  });

  it('rejects a bad threshold', async () => {
    const s = await import('./storage.js');
    expect(() => s.setSharedGcThreshold(0)).toThrow(/invalid byte count/);
  });
});
