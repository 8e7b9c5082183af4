/**
 * Pool worker entry (Node worker_threads; always loaded from dist/, see pool.ts). It sleeps in Atomics.wait
 * on its ctl[SEQ], receives jobs synchronously from its port, claims and runs them as protocol.ts describes.
 */
import { type MessagePort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { setThreadTag } from './context.js';
import { CLAIM, DONE, type Job, READY, SEQ, STATUS } from './protocol.js';
import type { Kernel } from './types.js';

const { ctl, shared, port } = workerData as { ctl: Int32Array; shared: Int32Array; port: MessagePort };
setThreadTag(threadId);

let kernels: Record<string, Kernel> | null = null;
let loadError = '';
try {
  kernels = (await import('../kernels/registry.js')).kernels as Record<string, Kernel>;
} catch (e) {
  loadError = `pool worker could not load the kernel registry: ${e instanceof Error ? e.message : String(e)}`;
}

function run(job: Job): void {
  if (!kernels) throw new Error(loadError);
  const k = kernels[job.name];
  if (typeof k !== 'function') {
    throw new Error(
      `parallelFor: unknown kernel '${job.name}' in the worker (is dist/ older than the sources? run npm run build)`,
    );
  }
  (k as (a: unknown, r0: number, r1: number) => void)(job.args, job.r0, job.r1);
}

/**
 * After a job, poll for the next one this long before sleeping: a futex wake-up costs 50-200 µs on a VM, longer
 * than a decode step's matrix-vector chunks, which arrive every few hundred µs.
 */
const SPIN_MS = 2;

Atomics.store(ctl, READY, 1);
let seen = 0;
let lastJob = -Infinity;
for (;;) {
  const msg = receiveMessageOnPort(port);
  if (msg === undefined) {
    // The caller posts before it bumps SEQ: when the queue is empty, sleep until the next bump.
    const until = lastJob + SPIN_MS;
    while (Atomics.load(ctl, SEQ) === seen && performance.now() < until) {}
    Atomics.wait(ctl, SEQ, seen);
    seen = Atomics.load(ctl, SEQ);
    continue;
  }
  const job = msg.message as Job;
  if (Atomics.compareExchange(shared, CLAIM + job.chunk, job.id, 0) !== job.id) continue; // the caller took it
  let status = job.id;
  try {
    run(job);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    port.postMessage({ name: err.name, message: err.message, stack: err.stack });
    status = -job.id;
  }
  Atomics.store(shared, STATUS + job.chunk, status);
  Atomics.add(shared, DONE, 1);
  Atomics.notify(shared, DONE);
  lastJob = performance.now();
}
