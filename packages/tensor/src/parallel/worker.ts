/**
 * Pool worker entry (Node worker_threads; always loaded from dist/, see pool.ts).
 *
 * Protocol, per worker: `ctl` is its own Int32Array on shared memory ([0] job sequence number, [1] error
 * flag), `done` is the pool's shared completion counter, `port` carries the job `{name, args, r0, r1}` and,
 * only on failure, the error back. The worker sleeps in Atomics.wait on ctl[0]; the caller posts a job, bumps
 * ctl[0] and notifies; the worker receives the job synchronously, runs `kernels[name](args, r0, r1)`, then
 * Atomics.add(done) + Atomics.notify(done).
 */
import { type MessagePort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { setThreadTag } from './context.js';
import type { Kernel } from './types.js';

interface Job {
  name: string;
  args: Record<string, unknown>;
  r0: number;
  r1: number;
}

const { ctl, done, port } = workerData as { ctl: Int32Array; done: Int32Array; port: MessagePort };
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

let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  // The caller posts before it bumps ctl[0], so the job is already queued; loop defensively anyway.
  let msg = receiveMessageOnPort(port);
  while (msg === undefined) msg = receiveMessageOnPort(port);
  try {
    run(msg.message as Job);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    port.postMessage({ name: err.name, message: err.message, stack: err.stack });
    Atomics.store(ctl, 1, 1);
  }
  Atomics.add(done, 0, 1);
  Atomics.notify(done, 0);
}
