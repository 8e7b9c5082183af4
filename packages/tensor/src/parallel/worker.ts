/**
 * Pool worker entry (Node worker_threads; always loaded from dist/, see pool.ts). It polls, then sleeps in
 * Atomics.wait, on its ctl[SEQ]; for each bump it reads the job header from ctl, claims the chunk, receives
 * the messages posted so far (registrations, or the whole job) synchronously from its port, and runs the
 * kernel on arguments rebuilt from the shared record (protocol.ts, jobs.ts).
 */
import { type MessagePort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { setThreadTag } from './context.js';
import { JobDecoder, type Registration } from './jobs.js';
import {
  CLAIM,
  DONE,
  JOB_CHUNK,
  JOB_ID,
  JOB_KIND,
  JOB_POSTED,
  JOB_R0,
  JOB_R1,
  JOB_REC,
  JOB_SHAPE,
  READY,
  SEQ,
  STATUS,
} from './protocol.js';
import type { Kernel } from './types.js';

const { ctl, shared, rec, port } = workerData as {
  ctl: Int32Array;
  shared: Int32Array;
  rec: Float64Array;
  port: MessagePort;
};
setThreadTag(threadId);

let kernels: Record<string, Kernel> | null = null;
let loadError = '';
try {
  kernels = (await import('../kernels/registry.js')).kernels as Record<string, Kernel>;
} catch (e) {
  loadError = `pool worker could not load the kernel registry: ${e instanceof Error ? e.message : String(e)}`;
}
const decoder = new JobDecoder(kernels);

/** A registration, possibly with a whole job (`id`, kernel `name`, `args`) of kind JOB_MSG. */
type Message = Registration & { id?: number; name?: string; args?: Record<string, unknown> };
let received = 0;

/** Receives every message posted before job `id`; returns that job's message when it came whole. */
function receiveUpTo(posted: number, id: number): Message | undefined {
  let job: Message | undefined;
  let idle = 0;
  while (received < posted) {
    const m = receiveMessageOnPort(port);
    if (m === undefined) {
      // Posted before the header was written, so it is on its way; never expected to take long.
      if (++idle > 1e8) throw new Error('parallelFor: pool worker did not receive a posted message (protocol error)');
      continue;
    }
    received++;
    const msg = m.message as Message;
    decoder.register(msg);
    if (msg.id === id) job = msg;
  }
  return job;
}

function run(id: number): void {
  const job = receiveUpTo(ctl[JOB_POSTED]!, id);
  if (!kernels) throw new Error(loadError);
  let name: string;
  let fn: Kernel | undefined;
  let a: Record<string, unknown>;
  if (ctl[JOB_KIND] === JOB_REC) {
    ({ name, fn, args: a } = decoder.decode(ctl[JOB_SHAPE]!, rec));
  } else {
    if (!job?.args) throw new Error(`parallelFor: pool worker got no arguments for job ${id} (protocol error)`);
    name = job.name!;
    a = job.args;
    fn = kernels[name];
  }
  if (typeof fn !== 'function') {
    throw new Error(
      `parallelFor: unknown kernel '${name}' in the worker (is dist/ older than the sources? run npm run build)`,
    );
  }
  (fn as (a: unknown, r0: number, r1: number) => void)(a, ctl[JOB_R0]!, ctl[JOB_R1]!);
}

/**
 * After a job, poll for the next one this long before sleeping: a futex wake-up costs 50-200 µs on a VM, longer
 * than a decode step's matrix-vector chunks, which arrive every few hundred µs. The clock is read only every
 * POLL_CHECK polls (reading it costs more than a poll).
 */
const SPIN_MS = 2;
const POLL_CHECK = 1024;

Atomics.store(ctl, READY, 1);
let seen = 0;
for (;;) {
  let seq = Atomics.load(ctl, SEQ);
  if (seq === seen) {
    const until = performance.now() + SPIN_MS;
    for (let polls = 1; ; polls++) {
      seq = Atomics.load(ctl, SEQ);
      if (seq !== seen) break;
      if (polls % POLL_CHECK === 0 && performance.now() > until) {
        Atomics.wait(ctl, SEQ, seen);
        seq = Atomics.load(ctl, SEQ);
        if (seq !== seen) break;
      }
    }
  }
  seen = seq;
  const id = Atomics.load(ctl, JOB_ID);
  const chunk = ctl[JOB_CHUNK]!;
  if (Atomics.compareExchange(shared, CLAIM + chunk, id, 0) !== id) continue; // the caller took it
  let status = id;
  try {
    run(id);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    port.postMessage({ name: err.name, message: err.message, stack: err.stack });
    status = -id;
  }
  Atomics.store(shared, STATUS + chunk, status);
  Atomics.add(shared, DONE, 1);
  Atomics.notify(shared, DONE);
}
