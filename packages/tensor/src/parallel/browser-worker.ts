/**
 * Pool worker entry for browsers (a module Web Worker started by browser.ts). The first message is the
 * `init` with the shared control arrays; every later message is a job (protocol.ts) that this worker claims
 * and runs from its message handler, then reports through the shared STATUS/DONE words (and, on failure,
 * the error mailbox). It never blocks, so it needs no Atomics.wait.
 */
import { kernels } from '../kernels/registry.js';
import { type BrowserInit, writeMailbox } from './browser.js';
import { setThreadTag } from './context.js';
import { CLAIM, DONE, type Job, READY, STATUS } from './protocol.js';
import type { Kernel } from './types.js';

interface WorkerScope {
  onmessage: ((ev: { data: unknown }) => void) | null;
}

let state: BrowserInit | null = null;

function run(job: Job): void {
  const k = (kernels as Record<string, Kernel>)[job.name];
  if (typeof k !== 'function') throw new Error(`parallelFor: unknown kernel '${job.name}' in the browser worker`);
  (k as (a: unknown, r0: number, r1: number) => void)(job.args, job.r0, job.r1);
}

function onJob(s: BrowserInit, job: Job): void {
  if (Atomics.compareExchange(s.shared, CLAIM + job.chunk, job.id, 0) !== job.id) return; // the caller took it
  let status = job.id;
  try {
    run(job);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    writeMailbox(s.mailbox, { name: err.name, message: err.message, stack: err.stack });
    status = -job.id;
  }
  Atomics.store(s.shared, STATUS + job.chunk, status);
  Atomics.add(s.shared, DONE, 1);
  Atomics.notify(s.shared, DONE);
}

(globalThis as unknown as WorkerScope).onmessage = (ev) => {
  const m = ev.data as BrowserInit | Job;
  if ((m as BrowserInit).kind === 'init') {
    state = m as BrowserInit;
    setThreadTag(state.tag);
    Atomics.store(state.ctl, READY, 1);
    return;
  }
  if (state) onJob(state, m as Job);
};
