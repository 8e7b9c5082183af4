/**
 * The worker pool: `parallelFor(kernel, args, rows, opts)` runs a registered row kernel over [0, rows).
 *
 * - Synchronous for the caller. The rows are cut into contiguous chunks (deterministic for a given thread
 *   count, see split.ts); chunks 1.. are posted to workers, the calling thread runs chunk 0 itself and then
 *   sleeps in Atomics.wait on a shared completion counter.
 * - Small work stays inline: the call runs on the calling thread unless rows * costPerRow (ns) exceeds ~0.5 ms
 *   (a worker wake-up round trip costs ~40-50 µs). It also stays inline inside a worker, inside a kernel that
 *   is already running on the pool, with setThreads(1), and where the runtime has no workers/shared memory.
 * - Arguments: numbers, strings, booleans and typed arrays. Typed arrays on SharedArrayBuffer (what
 *   allocF32/allocF64 return) are shared with no copy. Typed arrays on a plain ArrayBuffer are COPIED into
 *   shared memory for the call (one copy per underlying buffer, so aliasing views stay aliased) and copied
 *   back afterwards, so outputs land where the caller expects; that costs two memcpy of the touched span.
 * - Errors thrown by a kernel (in a worker or inline) are rethrown to the caller with the same name and
 *   message, after every chunk has finished; the first failing chunk wins.
 * - Workers are spawned lazily on the first parallel call (threads - 1 of them), kept warm, `unref()`ed so
 *   they never keep the process alive; `setThreads` resizes the pool and `shutdownPool()` terminates them.
 * - Workers run the built kernels from dist/ (a Node worker cannot load .ts): when this module itself runs
 *   from sources (vitest), the worker script is mapped from src/ to dist/, so build before testing.
 * - Known limit: a worker killed by the runtime (e.g. out of memory) is not detected while the caller waits.
 */
import { getThreads, onThreadsChange } from '../config.js';
import { TensorError } from '../errors.js';
import { type KernelArgsOf, type KernelName, kernels } from '../kernels/registry.js';
import { sharedMemoryAvailable } from '../storage.js';
import { inPoolWorker } from './context.js';
import { getPlatform, type Platform, type PlatformPort, type PlatformWorker } from './platform.js';
import { chunkCount, type SplitOptions, splitRows } from './split.js';

export type ParallelOptions = SplitOptions;

interface Slot {
  worker: PlatformWorker;
  port: PlatformPort;
  ctl: Int32Array; // [0] job sequence, [1] error flag
}

let slots: Slot[] = [];
let done: Int32Array | null = null;
let busy = false;
const counts = { parallel: 0, inline: 0 };

const sab = (ints: number) => new Int32Array(new SharedArrayBuffer(ints * 4));

/** The worker script: next to this module, or the built dist/ copy when this module runs from src/*.ts. */
export function workerScriptUrl(moduleUrl: string = import.meta.url): URL {
  if (!moduleUrl.endsWith('.ts')) return new URL('./worker.js', moduleUrl);
  const i = moduleUrl.lastIndexOf('/src/');
  if (i < 0) throw new Error(`parallelFor: cannot map ${moduleUrl} to its built worker (expected a /src/ folder)`);
  const built = `${moduleUrl.slice(0, i)}/dist/${moduleUrl.slice(i + 5)}`;
  return new URL('./worker.js', built);
}

function grow(platform: Platform, n: number): void {
  if (slots.length >= n) return;
  const url = workerScriptUrl();
  platform.checkScript(url);
  done ??= sab(1);
  while (slots.length < n) {
    const ctl = sab(2);
    slots.push({ ctl, ...platform.spawn(url, { ctl, done }) });
  }
}

function shrink(n: number): Promise<void> {
  const gone = slots.slice(n);
  slots = slots.slice(0, n);
  for (const s of gone) s.port.close();
  return Promise.all(gone.map((s) => s.worker.terminate())).then(() => undefined);
}

onThreadsChange((n) => {
  if (!busy && slots.length > n - 1) void shrink(Math.max(0, n - 1));
});

/** Terminates every worker (they are started again lazily by the next parallel call). */
export function shutdownPool(): Promise<void> {
  return shrink(0);
}

/**
 * Diagnostics: live pool workers, the platform name (null: no worker support) and how many calls ran split
 * across threads or inline since the process started.
 */
export function poolInfo(): { workers: number; platform: string | null; parallelCalls: number; inlineCalls: number } {
  return {
    workers: slots.length,
    platform: getPlatform()?.name ?? null,
    parallelCalls: counts.parallel,
    inlineCalls: counts.inline,
  };
}

type Ctor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;

/** Validates the argument object; returns a version whose typed arrays all live on shared memory. */
function shareArgs(
  name: string,
  args: Record<string, unknown>,
  share: boolean,
): { args: Record<string, unknown>; copyBack: () => void } {
  let plain: Map<ArrayBufferLike, { lo: number; hi: number }> | null = null;
  for (const key of Object.keys(args)) {
    const v = args[key];
    const t = typeof v;
    if (v === null || v === undefined || t === 'number' || t === 'string' || t === 'boolean') continue;
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      if (!share || v.buffer instanceof SharedArrayBuffer) continue;
      plain ??= new Map();
      const span = plain.get(v.buffer);
      const lo = v.byteOffset;
      const hi = v.byteOffset + v.byteLength;
      if (span) {
        span.lo = Math.min(span.lo, lo);
        span.hi = Math.max(span.hi, hi);
      } else plain.set(v.buffer, { lo, hi });
      continue;
    }
    const what = Array.isArray(v) ? 'an array' : t === 'object' ? ((v as object).constructor?.name ?? 'an object') : t;
    throw new TensorError(
      `parallelFor(${name}): argument '${key}' is ${what}; kernels take numbers, strings, booleans and typed arrays`,
    );
  }
  if (!plain) return { args, copyBack: () => {} };
  const copies = new Map<ArrayBufferLike, { lo: number; hi: number; shared: SharedArrayBuffer }>();
  for (const [buf, { lo, hi }] of plain) {
    const shared = new SharedArrayBuffer(hi - lo);
    new Uint8Array(shared).set(new Uint8Array(buf, lo, hi - lo));
    copies.set(buf, { lo, hi, shared });
  }
  const out: Record<string, unknown> = { ...args };
  for (const key of Object.keys(args)) {
    const v = args[key];
    if (!ArrayBuffer.isView(v)) continue;
    const c = copies.get(v.buffer);
    if (!c) continue;
    const n = v.byteLength / (v as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    out[key] = new (v.constructor as Ctor)(c.shared, v.byteOffset - c.lo, n);
  }
  const copyBack = () => {
    for (const [buf, c] of copies) new Uint8Array(buf, c.lo, c.hi - c.lo).set(new Uint8Array(c.shared));
  };
  return { args: out, copyBack };
}

function rebuildError(e: { name?: string; message?: string; stack?: string } | undefined, name: string): Error {
  const err =
    e?.name === 'TensorError'
      ? new TensorError(e.message ?? '')
      : new Error(e?.message ?? `parallelFor(${name}): a worker failed`);
  if (e?.name && err.name !== e.name) err.name = e.name;
  if (e?.stack) err.stack = e.stack;
  return err;
}

/**
 * Runs `kernels[kernel](args, rowStart, rowEnd)` over [0, rows), possibly split across the worker pool.
 * Returns the number of threads that took part (1 = it ran inline).
 */
export function parallelFor<K extends KernelName>(
  kernel: K,
  args: KernelArgsOf<K>,
  rows: number,
  opts: ParallelOptions = {},
): number {
  const fn = kernels[kernel] as ((a: unknown, r0: number, r1: number) => void) | undefined;
  if (typeof fn !== 'function') throw new TensorError(`parallelFor: unknown kernel '${String(kernel)}'`);
  if (!Number.isInteger(rows) || rows < 0) throw new TensorError(`parallelFor(${kernel}): invalid row count ${rows}`);
  const platform = getPlatform();
  const canSplit = platform !== null && sharedMemoryAvailable && !busy && !inPoolWorker();
  const chunks = canSplit ? chunkCount(rows, getThreads(), opts) : 1;
  const prepared = shareArgs(kernel, args as Record<string, unknown>, chunks > 1);
  if (rows === 0) return 1;
  if (chunks === 1) {
    counts.inline++;
    fn(args, 0, rows);
    return 1;
  }
  grow(platform!, getThreads() - 1);
  const ranges = splitRows(rows, chunks, opts.align ?? 1);
  const used = ranges.length;
  const jobArgs = prepared.args;
  const counter = done!;
  busy = true;
  counts.parallel++;
  try {
    Atomics.store(counter, 0, 0);
    for (let i = 1; i < used; i++) {
      const s = slots[i - 1]!;
      Atomics.store(s.ctl, 1, 0);
      s.port.post({ name: kernel, args: jobArgs, r0: ranges[i]![0], r1: ranges[i]![1] });
      Atomics.add(s.ctl, 0, 1);
      Atomics.notify(s.ctl, 0);
    }
    let own: unknown = null;
    try {
      fn(jobArgs, ranges[0]![0], ranges[0]![1]);
    } catch (e) {
      own = e ?? new Error(`parallelFor(${kernel}): the kernel threw ${String(e)}`);
    }
    for (let d = Atomics.load(counter, 0); d < used - 1; d = Atomics.load(counter, 0)) Atomics.wait(counter, 0, d);
    prepared.copyBack();
    // Drain every worker's error (so no stale message survives), then throw the first failing chunk's.
    let first = own;
    for (let i = 1; i < used; i++) {
      const s = slots[i - 1]!;
      if (Atomics.load(s.ctl, 1) === 0) continue;
      const err = rebuildError(s.port.receive() as Parameters<typeof rebuildError>[0], kernel);
      first ??= err;
    }
    if (first) throw first;
  } finally {
    busy = false;
  }
  return used;
}
