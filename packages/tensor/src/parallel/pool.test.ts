import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, setThreads } from '../config.js';
import { TensorError } from '../errors.js';
import { kernels } from '../kernels/registry.js';
import { allocF32 } from '../storage.js';
import { getPlatform, workerExecArgv } from './platform.js';
import { HOT_MS, parallelFor, poolInfo, shutdownPool, warmPool, workerScriptUrl } from './pool.js';
import {
  CLAIM,
  CTL_INTS,
  DONE,
  JOB_CHUNK,
  JOB_ID,
  JOB_KIND,
  JOB_MSG,
  JOB_POSTED,
  JOB_R1,
  SEQ,
  SHARED_INTS,
  STATUS,
} from './protocol.js';
import { splitRows } from './split.js';

const initialThreads = getThreads();
afterAll(async () => {
  setThreads(initialThreads);
  await shutdownPool();
});

const BIG = { costPerRow: 1e6 }; // pretend each row costs 1 ms so that any row count > 1 splits

function input(rows: number, cols: number, seed: number): Float32Array {
  const x = allocF32(rows * cols);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32) * 8 - 4;
  }
  return x;
}

describe('parallelFor', () => {
  it('gives bit-identical results for 1, 2 and 3 threads', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 97 }),
        fc.integer({ min: 1, max: 67 }),
        fc.constantFrom(1, 4, 12),
        (rows, cols, align) => {
          const x = input(rows, cols, rows * 131 + cols);
          const expected = new Float32Array(rows * cols);
          kernels['pool.prefixSinRows']({ x, out: expected, cols }, 0, rows);
          const outs = [1, 2, 3].map((t) => {
            setThreads(t); // resizes the pool: keep the property runs few
            const out = allocF32(rows * cols);
            const used = parallelFor('pool.prefixSinRows', { x, out, cols }, rows, {
              ...BIG,
              align,
              steal: rows % 2 === 0,
            });
            expect(used).toBe(splitRows(rows, Math.min(t, rows), align).length);
            return out;
          });
          for (const out of outs) expect(out).toEqual(expected);
        },
      ),
      { numRuns: 8 },
    );
    // Many shapes at a fixed thread count (no pool resizing between runs).
    setThreads(3);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 211 }),
        fc.integer({ min: 1, max: 37 }),
        fc.constantFrom(1, 4, 12),
        (rows, cols, align) => {
          const x = input(rows, cols, rows * 7 + cols);
          const expected = new Float32Array(rows * cols);
          kernels['pool.prefixSinRows']({ x, out: expected, cols }, 0, rows);
          const out = allocF32(rows * cols);
          parallelFor('pool.prefixSinRows', { x, out, cols }, rows, { ...BIG, align, steal: cols % 2 === 0 });
          expect(out).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('really runs chunks in worker threads, split as splitRows says', async () => {
    setThreads(3);
    await warmPool();
    expect(poolInfo()).toMatchObject({ workers: 2, readyWorkers: 2, platform: 'node' });
    const rows = 30;
    const tags = new Int32Array(new SharedArrayBuffer(rows * 4)).fill(-1);
    const starts = new Int32Array(new SharedArrayBuffer(rows * 4));
    expect(parallelFor('pool.recordThread', { tags, starts }, rows, { ...BIG, steal: false })).toBe(3);
    const ranges = splitRows(rows, 3);
    const seen = ranges.map(([a]) => tags[a]!);
    expect(seen[0]).toBe(0); // chunk 0 ran on the calling thread
    expect(seen[1]).toBeGreaterThan(0); // the others in workers (worker_threads threadId)
    expect(seen[2]).toBeGreaterThan(0);
    expect(seen[1]).not.toBe(seen[2]);
    ranges.forEach(([a, b], i) => {
      for (let r = a; r < b; r++) expect(tags[r]).toBe(seen[i]);
    });
    expect([...starts].flatMap((v, i) => (v ? [i] : []))).toEqual(ranges.map(([a]) => a));
  });

  it('lets the calling thread take over chunks of workers that have not started (e.g. still booting)', async () => {
    setThreads(3);
    await shutdownPool();
    const rows = 30;
    const tags = new Int32Array(new SharedArrayBuffer(rows * 4)).fill(-1);
    const starts = new Int32Array(new SharedArrayBuffer(rows * 4));
    const stolen0 = poolInfo().stolenChunks;
    // Fresh workers need milliseconds to boot; this tiny job is over long before.
    expect(parallelFor('pool.recordThread', { tags, starts }, rows, BIG)).toBe(3);
    // Normally both worker chunks are taken over (tag 0); a heavily loaded machine could deschedule this
    // thread long enough for a worker to boot and claim one, so require at least one take-over.
    const stolen = poolInfo().stolenChunks - stolen0;
    expect(stolen).toBeGreaterThanOrEqual(1);
    expect(tags.filter((t) => t === 0).length).toBe(10 * (1 + stolen)); // three chunks of 10 rows
    expect(tags.every((t) => t >= 0)).toBe(true);
    expect([...starts].flatMap((v, i) => (v ? [i] : []))).toEqual(splitRows(rows, 3).map(([a]) => a));
    // The stale job messages are skipped by the workers once they boot; the pool keeps working.
    await warmPool();
    const x = input(30, 5, 3);
    const out = allocF32(150);
    const expected = new Float32Array(150);
    kernels['pool.prefixSinRows']({ x, out: expected, cols: 5 }, 0, 30);
    for (let rep = 0; rep < 20; rep++) {
      out.fill(0);
      parallelFor('pool.prefixSinRows', { x, out, cols: 5 }, 30, { ...BIG, steal: rep % 2 === 0 });
      expect(out).toEqual(expected);
    }
  });

  it('keeps small work on the calling thread', () => {
    setThreads(2);
    const rows = 64;
    const tags = new Int32Array(new SharedArrayBuffer(rows * 4)).fill(-1);
    const starts = new Int32Array(new SharedArrayBuffer(rows * 4));
    expect(parallelFor('pool.recordThread', { tags, starts }, rows, { costPerRow: 100 })).toBe(1);
    // within HOT_MS of an earlier test's split the workers still poll and 64 µs would split: wait the window out
    const cold = performance.now() + 2 * HOT_MS;
    while (performance.now() < cold);
    expect(parallelFor('pool.recordThread', { tags, starts }, rows)).toBe(1); // default cost: 64 µs
    expect(new Set(tags)).toEqual(new Set([0]));
    setThreads(1);
    expect(parallelFor('pool.recordThread', { tags, starts }, rows, BIG)).toBe(1);
  });

  it('propagates kernel errors from workers and from the calling thread, and stays usable', () => {
    setThreads(3);
    const out = allocF32(30);
    expect(() => parallelFor('pool.failAt', { failRow: 25, out }, 30, BIG)).toThrow(
      'pool.failAt: deliberate failure at row 25',
    );
    expect(() => parallelFor('pool.failAt', { failRow: 3, out }, 30, BIG)).toThrow('deliberate failure at row 3');
    expect(() => parallelFor('pool.failAt', { failRow: 3, out }, 30)).toThrow('deliberate failure at row 3'); // inline
    // Two failing workers: the first failing chunk's error wins, and no stale error leaks into the next call.
    const x = input(30, 5, 1);
    const o2 = allocF32(150);
    try {
      parallelFor('pool.failAt', { failRow: 12, out }, 30, BIG);
    } catch (e) {
      expect((e as Error).message).toContain('row 12');
    }
    expect(parallelFor('pool.prefixSinRows', { x, out: o2, cols: 5 }, 30, BIG)).toBe(3);
    expect(parallelFor('pool.failAt', { failRow: -1, out }, 30, BIG)).toBe(3);
    expect([...out]).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('runs nested calls inline, on the calling thread and in workers', () => {
    setThreads(2);
    const rows = 6;
    const width = 5;
    const used = new Int32Array(new SharedArrayBuffer(rows * 4));
    const out = allocF32(rows * width);
    expect(parallelFor('pool.nested', { used, out, width }, rows, BIG)).toBe(2);
    expect([...used]).toEqual(new Array(rows).fill(1));
    expect([...out]).toEqual(Array.from({ length: rows * width }, (_, i) => i % width));
  });

  it('rejects unknown kernels, bad row counts and unsupported arguments', () => {
    // @ts-expect-error: not a registered kernel name
    expect(() => parallelFor('nope.missing', {}, 10)).toThrow(TensorError);
    // @ts-expect-error: not a registered kernel name
    expect(() => parallelFor('nope.missing', {}, 10)).toThrow("unknown kernel 'nope.missing'");
    const out = allocF32(4);
    expect(() => parallelFor('pool.failAt', { failRow: -1, out }, 2.5)).toThrow('invalid row count 2.5');
    // @ts-expect-error: arrays are not kernel arguments
    expect(() => parallelFor('pool.failAt', { failRow: -1, out: [1, 2] }, 2)).toThrow("argument 'out' is an array");
  });

  it('copies typed arrays on plain ArrayBuffers into shared memory and back (aliasing kept)', () => {
    setThreads(2);
    const rows = 20;
    const cols = 7;
    const buf = new ArrayBuffer((2 * rows * cols + 3) * 4);
    const x = new Float32Array(buf, 4, rows * cols); // input and output views of the same plain buffer
    const out = new Float32Array(buf, (rows * cols + 2) * 4, rows * cols);
    x.set(input(rows, cols, 7));
    const expected = new Float32Array(rows * cols);
    kernels['pool.prefixSinRows']({ x, out: expected, cols }, 0, rows);
    expect(parallelFor('pool.prefixSinRows', { x, out, cols }, rows, BIG)).toBe(2);
    expect(out).toEqual(expected);
    expect(x.buffer).toBe(buf);
    // Views of different element sizes on one plain buffer, one at an odd byte offset.
    const mixed = new ArrayBuffer(64);
    const f64 = new Float64Array(mixed, 8, 4);
    const u8 = new Uint8Array(mixed, 3, 2);
    const starts = new Int32Array(mixed, 44, 4);
    const tags = new Int32Array(new SharedArrayBuffer(16));
    const args = { tags, starts, f64, u8 }; // extra arguments are allowed (the kernel ignores them)
    expect(() => parallelFor('pool.recordThread', args, 4, { ...BIG, steal: false })).not.toThrow();
    expect([...starts]).toEqual([1, 0, 1, 0]);
  });

  it('resizes the pool when the thread count changes and restarts after shutdown', async () => {
    setThreads(3);
    const out = allocF32(30);
    parallelFor('pool.failAt', { failRow: -1, out }, 30, BIG);
    expect(poolInfo().workers).toBe(2);
    setThreads(2);
    expect(poolInfo().workers).toBe(1);
    await shutdownPool();
    expect(poolInfo().workers).toBe(0);
    expect(parallelFor('pool.failAt', { failRow: -1, out }, 30, BIG)).toBe(2);
    expect(poolInfo().workers).toBe(1);
  });

  it('maps the worker script from src/*.ts to dist/*.js', () => {
    expect(workerScriptUrl('file:///r/packages/tensor/src/parallel/pool.ts').href).toBe(
      'file:///r/packages/tensor/dist/parallel/worker.js',
    );
    expect(workerScriptUrl('file:///r/node_modules/@stade/tensor/dist/parallel/pool.js').href).toBe(
      'file:///r/node_modules/@stade/tensor/dist/parallel/worker.js',
    );
  });

  it('never keeps the process alive', () => {
    const pool = new URL(workerScriptUrl().href.replace(/worker\.js$/, 'pool.js'));
    const code = `
      import { parallelFor, poolInfo } from ${JSON.stringify(pool.href)};
      import { setThreads } from ${JSON.stringify(new URL('../config.js', pool).href)};
      setThreads(2);
      const out = new Float32Array(new SharedArrayBuffer(400));
      const used = parallelFor('pool.failAt', { failRow: -1, out }, 100, { costPerRow: 1e5 });
      console.log(used, poolInfo().workers, out[99]);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull(); // not killed by the timeout
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('2 1 99');
    expect(fileURLToPath(pool)).toMatch(/dist[\\/]parallel[\\/]pool\.js$/);
  });

  it('on Node without process.getBuiltinModule, runs inline until worker_threads is loaded, then splits', () => {
    const pool = new URL(workerScriptUrl().href.replace(/worker\.js$/, 'pool.js'));
    const code = `delete process.getBuiltinModule;
      const { parallelFor } = await import(${JSON.stringify(pool.href)});
      const { setThreads } = await import(${JSON.stringify(new URL('../config.js', pool).href)});
      setThreads(2);
      const out = new Float32Array(new SharedArrayBuffer(400));
      const run = () => parallelFor('pool.failAt', { failRow: -1, out }, 100, { costPerRow: 1e5 });
      const first = run();
      await new Promise((r) => setTimeout(r, 300));
      console.log(first, run(), out[99]);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    const [first, later, last] = r.stdout.trim().split(' ').map(Number);
    expect([1, 2]).toContain(first);
    expect(later).toBe(2);
    expect(last).toBe(99);
  });

  it('a worker whose module fails to load answers jobs with that error instead of hanging', async () => {
    const platform = getPlatform()!;
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_INTS * 4));
    const shared = new Int32Array(new SharedArrayBuffer(SHARED_INTS * 4));
    const { worker, port } = platform.spawn(new URL('file:///nonexistent/stade-worker.js'), { ctl, shared });
    try {
      Atomics.store(shared, CLAIM + 1, 7);
      port.post({ id: 7, name: 'x', args: {} }); // a whole job (JOB_MSG), announced by the ctl header
      ctl[JOB_CHUNK] = 1;
      ctl[JOB_R1] = 1;
      ctl[JOB_KIND] = JOB_MSG;
      ctl[JOB_POSTED] = 1;
      Atomics.store(ctl, JOB_ID, 7);
      Atomics.add(ctl, SEQ, 1);
      Atomics.notify(ctl, SEQ);
      const deadline = Date.now() + 20_000;
      while (Atomics.load(shared, DONE) < 1 && Date.now() < deadline) Atomics.wait(shared, DONE, 0, 100);
      expect(Atomics.load(shared, DONE)).toBe(1);
      expect(Atomics.load(shared, STATUS + 1)).toBe(-7);
      expect(Atomics.load(shared, CLAIM + 1)).toBe(0);
      expect((port.receive() as { message: string }).message).toMatch(
        /pool worker failed to start: .*stade-worker\.js/,
      );
    } finally {
      port.close();
      await worker.terminate();
    }
  });

  it("drops main-script-only options from the workers' Node options", () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--max-old-space-size=100'])).toEqual([
      '--max-old-space-size=100',
    ]);
    expect(
      workerExecArgv(['--input-type', 'module', '--eval', 'x', '-p', 'y', '--print=z', '--conditions=dev']),
    ).toEqual(['--conditions=dev']);
  });
});
