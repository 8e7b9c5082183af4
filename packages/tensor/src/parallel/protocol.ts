/**
 * The shared-memory protocol between the caller of parallelFor and the pool workers (no Node imports).
 *
 * Pool memory (`shared`, one Int32Array on a SharedArrayBuffer):
 *   [DONE]            completion counter: +1 (and Atomics.notify) whenever a worker finishes a chunk
 *   [CLAIM + i]       chunk i of the current job: the job id while open, 0 once someone claimed it
 *   [STATUS + i]      chunk i's outcome: +id finished, -id failed (the error message is on the worker's port)
 * Worker memory (`ctl`, one per worker): [SEQ] bumped + notified for each job posted, [READY] 1 once loaded.
 *
 * A job message is `{ id, chunk, name, args, r0, r1 }`. Whoever wins Atomics.compareExchange(CLAIM + chunk,
 * id, 0) runs it: normally the worker it was posted to, but the caller also claims the chunks that nobody has
 * started once its own chunk is done (a worker that is still booting or descheduled then costs nothing).
 * The chunks are fixed before anyone runs, so who runs which chunk never changes the result.
 */
export const MAX_CHUNKS = 256;
export const DONE = 0;
export const CLAIM = 1;
export const STATUS = CLAIM + MAX_CHUNKS;
export const SHARED_INTS = STATUS + MAX_CHUNKS;
export const SEQ = 0;
export const READY = 1;
export const CTL_INTS = 2;

export interface Job {
  id: number;
  chunk: number;
  name: string;
  args: Record<string, unknown>;
  r0: number;
  r1: number;
}

/** What a worker posts back when its chunk throws. */
export interface WorkerError {
  name?: string;
  message?: string;
  stack?: string;
}
