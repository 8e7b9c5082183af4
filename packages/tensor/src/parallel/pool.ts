/**
 * The worker pool: `parallelFor(kernel, args, rows, opts)` runs a registered row kernel over [0, rows).
 *
 * - Synchronous for the caller. The rows are cut into contiguous chunks (deterministic for a given thread
 *   count, see split.ts); chunks 1.. are posted to workers, the calling thread runs chunk 0, then also runs
 *   any chunk no worker has started yet (a booting or descheduled worker costs nothing), then polls and
 *   sleeps in Atomics.wait on a shared completion counter until the claimed chunks are done (protocol.ts).
 *   Chunk boundaries never depend on who runs them, so results are identical for any thread count.
 * - Posting: on Node, a job is written into shared memory (a header per worker and one argument record,
 *   jobs.ts) that a polling worker picks up within a microsecond or so; argument layouts and shared buffers
 *   are registered with the workers once, by message. In browsers (and Deno) each job is a message.
 * - Small work stays inline: the call runs on the calling thread unless rows * costPerRow (ns) exceeds ~0.5 ms
 *   (a worker wake-up round trip costs ~40-50 µs), or ~40 µs while the workers still poll after a recent split. It also stays inline inside a worker, inside a kernel that
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
 * - Known limit: a worker killed by the runtime (e.g. out of memory) mid-chunk is not detected while the
 *   caller waits.
 */
import { getThreads, onThreadsChange } from '../config.js';
import { TensorError } from '../errors.js';
import { type KernelArgsOf, type KernelName, kernels } from '../kernels/registry.js';
import { sharedMemoryAvailable } from '../storage.js';
import { rebuildError, shareArgs } from './args.js';
import { inPoolWorker } from './context.js';
import { JobEncoder, REC_SLOTS } from './jobs.js';
import { getPlatform, type Platform, type PlatformPort, type PlatformWorker } from './platform.js';
import {
  CLAIM,
  CTL_INTS,
  DONE,
  JOB_CHUNK,
  JOB_ID,
  JOB_KIND,
  JOB_MSG,
  JOB_POSTED,
  JOB_R0,
  JOB_R1,
  JOB_REC,
  JOB_SHAPE,
  type Job,
  READY,
  SEQ,
  SHARED_INTS,
  STATUS,
  type WorkerError,
} from './protocol.js';
import { chunkCount, type SplitOptions, splitRows } from './split.js';

export interface ParallelOptions extends SplitOptions {
  /**
   * Let the calling thread run chunks that no worker has started once its own is done (default true).
   * `false` makes every chunk run on the worker it was posted to (tests, scaling measurements).
   */
  steal?: boolean;
}

interface Slot {
  worker: PlatformWorker;
  port: PlatformPort;
  ctl: Int32Array; // [SEQ] job sequence, [READY] loaded, the job header (protocol.ts)
  /** Messages posted to this worker so far (sharedJobs platforms). */
  posted: number;
}

let slots: Slot[] = [];
let shared: Int32Array | null = null;
/** The shared argument record of the current job, and the ids the workers know (sharedJobs platforms). */
let rec: Float64Array | null = null;
const encoder = new JobEncoder();
let busy = false;
let jobId = 0;
/** When the last split call ended (performance.now()); the workers poll for HOT_MS after their last job. */
let lastSplitEnd = Number.NEGATIVE_INFINITY;
/** Below the workers' polling time (worker.ts: 2 ms), with a margin for a worker that finished early. */
export const HOT_MS = 1;
const counts = { parallel: 0, inline: 0, stolen: 0 };

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
  shared ??= new Int32Array(new SharedArrayBuffer(SHARED_INTS * 4));
  rec ??= new Float64Array(new SharedArrayBuffer(REC_SLOTS * 8));
  while (slots.length < n) {
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_INTS * 4));
    slots.push({ ctl, posted: 0, ...platform.spawn(url, { ctl, shared, rec }) });
  }
  encoder.reset(); // the new workers know no shapes or buffers yet
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

type Timers = {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
  Deno?: { unrefTimer?(t: unknown): void };
};
let idleTimer: unknown = null;

/**
 * Where workers keep the process alive (Deno), stops them after a second without parallel work, on a timer
 * that itself does not keep the process alive, so a program exits without calling shutdownPool().
 */
function stopWhenIdle(): void {
  const g = globalThis as unknown as Timers;
  if (idleTimer !== null) g.clearTimeout(idleTimer);
  idleTimer = g.setTimeout(() => {
    idleTimer = null;
    if (!busy) void shrink(0);
  }, 1000);
  g.Deno?.unrefTimer?.(idleTimer);
}

/**
 * @internal Tests: forgets every registered buffer and argument shape, as when a worker joins or the registry
 * fills, so that the workers are sent every buffer and shared memory again (as new objects) with the next job.
 */
export function resetJobRegistryForTests(): void {
  encoder.reset();
}

/** Terminates every worker (they are started again lazily by the next parallel call). */
export function shutdownPool(): Promise<void> {
  return shrink(0);
}

/**
 * Starts the workers for the current thread count now (instead of at the first parallel call) and resolves
 * once all have loaded, or rejects after `timeoutMs`. Optional: parallelFor works without it.
 */
export async function warmPool(timeoutMs = 30_000): Promise<void> {
  const platform = getPlatform();
  if (!platform || !sharedMemoryAvailable || getThreads() < 2) return;
  grow(platform, getThreads() - 1);
  const deadline = Date.now() + timeoutMs;
  while (slots.some((s) => Atomics.load(s.ctl, READY) !== 1)) {
    if (Date.now() > deadline) throw new Error(`warmPool: workers not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  if (platform.keepsProcessAlive) stopWhenIdle();
}

/**
 * Diagnostics: live and loaded workers, the platform name (null: no worker support), and how many calls ran
 * split or inline, and how many chunks the calling thread took over from workers, since the process started.
 */
export function poolInfo(): {
  workers: number;
  readyWorkers: number;
  platform: string | null;
  parallelCalls: number;
  inlineCalls: number;
  stolenChunks: number;
} {
  return {
    workers: slots.length,
    readyWorkers: slots.filter((s) => Atomics.load(s.ctl, READY) === 1).length,
    platform: getPlatform()?.name ?? null,
    parallelCalls: counts.parallel,
    inlineCalls: counts.inline,
    stolenChunks: counts.stolen,
  };
}

type Fn = (a: unknown, r0: number, r1: number) => void;

/** How long the caller polls for its workers' chunks before sleeping (ms). */
const SPIN_MS = 1;

/**
 * Runs `kernels[kernel](args, rowStart, rowEnd)` over [0, rows), possibly split across the worker pool.
 * Returns the number of chunks the rows were split into (1 = it ran inline).
 */
export function parallelFor<K extends KernelName>(
  kernel: K,
  args: KernelArgsOf<K>,
  rows: number,
  opts: ParallelOptions = {},
): number {
  const fn = kernels[kernel] as Fn | undefined;
  if (typeof fn !== 'function') throw new TensorError(`parallelFor: unknown kernel '${String(kernel)}'`);
  if (!Number.isInteger(rows) || rows < 0) throw new TensorError(`parallelFor(${kernel}): invalid row count ${rows}`);
  const platform = getPlatform();
  const canSplit = platform !== null && sharedMemoryAvailable && !busy && !inPoolWorker();
  const chunks = canSplit ? chunkCount(rows, getThreads(), opts, performance.now() - lastSplitEnd < HOT_MS) : 1;
  const prepared = shareArgs(kernel, args as Record<string, unknown>, chunks > 1);
  if (rows === 0) return 1;
  if (chunks === 1) {
    counts.inline++;
    fn(args, 0, rows);
    return 1;
  }
  grow(platform!, getThreads() - 1);
  const ranges = splitRows(rows, chunks, opts.align ?? 1);
  busy = true;
  counts.parallel++;
  try {
    return runSplit(
      fn,
      kernel,
      prepared.args,
      ranges,
      opts.steal ?? true,
      platform!.sharedJobs ? prepared.copied : null,
    );
  } finally {
    busy = false;
    lastSplitEnd = performance.now();
    prepared.copyBack();
    if (platform!.keepsProcessAlive) stopWhenIdle();
  }
}

/** Posts the job's chunks 1.. through the ctl headers and the shared record (protocol.ts, jobs.ts). */
function postShared(
  name: string,
  args: Record<string, unknown>,
  ranges: [number, number][],
  id: number,
  whole: boolean,
) {
  const used = ranges.length;
  const shape = whole ? 0 : encoder.encode(name, args, rec!);
  const reg = encoder.takePending();
  const kind = shape === 0 ? JOB_MSG : JOB_REC;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    const job = kind === JOB_MSG && i < used - 1;
    if (!reg && !job) continue;
    s.port.post(job ? { ...reg, id, name, args } : reg);
    s.posted++;
  }
  for (let i = 1; i < used; i++) {
    const s = slots[i - 1]!;
    const ctl = s.ctl;
    ctl[JOB_CHUNK] = i;
    ctl[JOB_R0] = ranges[i]![0];
    ctl[JOB_R1] = ranges[i]![1];
    ctl[JOB_KIND] = kind;
    ctl[JOB_SHAPE] = shape;
    ctl[JOB_POSTED] = s.posted;
    Atomics.store(ctl, JOB_ID, id);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
  }
}

/** Polls of a spin loop between two reads of the clock (reading it costs more than a poll). */
const POLL_CHECK = 1024;

/** `copied` (sharedJobs platforms): the arguments include per-call copies (posted whole); null: post Job messages. */
function runSplit(
  fn: Fn,
  name: string,
  args: Record<string, unknown>,
  ranges: [number, number][],
  steal: boolean,
  copied: boolean | null,
): number {
  const used = ranges.length;
  const sh = shared!;
  jobId = jobId >= 0x3fffffff ? 1 : jobId + 1;
  const id = jobId;
  for (let i = 1; i < used; i++) {
    Atomics.store(sh, CLAIM + i, id);
    Atomics.store(sh, STATUS + i, 0);
  }
  if (copied !== null) postShared(name, args, ranges, id, copied);
  else {
    for (let i = 1; i < used; i++) {
      const s = slots[i - 1]!;
      const job: Job = { id, chunk: i, name, args, r0: ranges[i]![0], r1: ranges[i]![1] };
      s.port.post(job);
      Atomics.add(s.ctl, SEQ, 1);
      Atomics.notify(s.ctl, SEQ);
    }
  }
  // Errors by chunk; the calling thread's own chunks first.
  const errors: unknown[] = new Array(used).fill(undefined);
  const mine: boolean[] = new Array(used).fill(false);
  const runHere = (i: number) => {
    mine[i] = true;
    try {
      fn(args, ranges[i]![0], ranges[i]![1]);
    } catch (e) {
      errors[i] = e ?? new Error(`parallelFor(${name}): the kernel threw ${String(e)}`);
    }
  };
  runHere(0);
  if (steal) {
    for (let i = used - 1; i >= 1; i--) {
      if (Atomics.compareExchange(sh, CLAIM + i, id, 0) === id) {
        counts.stolen++;
        runHere(i);
      }
    }
  }
  // Poll briefly before sleeping: the workers' chunks usually end within a wake-up's latency (50-200 µs).
  let spinUntil = -1;
  for (let polls = 1; ; polls++) {
    const c = Atomics.load(sh, DONE);
    let pending = false;
    for (let i = 1; i < used && !pending; i++) {
      const st = Atomics.load(sh, STATUS + i);
      if (!mine[i] && st !== id && st !== -id) pending = true;
    }
    if (!pending) break;
    if (polls % POLL_CHECK !== 0) continue;
    const now = performance.now();
    if (spinUntil < 0) spinUntil = now + SPIN_MS;
    if (now < spinUntil) continue;
    Atomics.wait(sh, DONE, c);
  }
  for (let i = 1; i < used; i++) {
    if (!mine[i] && Atomics.load(sh, STATUS + i) === -id) {
      errors[i] = rebuildError(slots[i - 1]!.port.receive() as WorkerError | undefined, name);
    }
  }
  const first = errors.find((e) => e !== undefined);
  if (first !== undefined) throw first;
  return used;
}
