/**
 * Per-thread context. The worker entry sets the tag to its worker_threads `threadId`; on the calling thread it
 * stays 0. Kernels normally never need it; the pool's tests use it to prove that work really ran in workers.
 */
let threadTag = 0;

/** 0 on the thread that called parallelFor, the worker's threadId inside a pool worker. */
export function currentThreadTag(): number {
  return threadTag;
}

/** True inside a pool worker (nested parallelFor calls then run inline). */
export function inPoolWorker(): boolean {
  return threadTag !== 0;
}

/** Used by the worker entry only. */
export function setThreadTag(tag: number): void {
  threadTag = tag;
}
