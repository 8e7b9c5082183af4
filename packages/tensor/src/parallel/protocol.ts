/**
 * The shared-memory protocol between the caller of parallelFor and the pool workers (no Node imports).
 *
 * Pool memory (`shared`, one Int32Array on a SharedArrayBuffer):
 *   [DONE]            completion counter: +1 (and Atomics.notify) whenever a worker finishes a chunk
 *   [CLAIM + i]       chunk i of the current job: the job id while open, 0 once someone claimed it
 *   [STATUS + i]      chunk i's outcome: +id finished, -id failed (the error message is on the worker's port)
 * Worker memory (`ctl`, one per worker): [SEQ] bumped + notified for each job posted, [READY] 1 once loaded.
 *
 * Node workers (`Platform.sharedJobs`) read each job from shared memory: the caller writes the header words
 * [JOB_CHUNK], [JOB_R0], [JOB_R1], [JOB_KIND], [JOB_SHAPE], [JOB_POSTED] of the worker's ctl (and, for kind
 * JOB_REC, the argument record, jobs.ts), then Atomics.store(ctl, JOB_ID, id), then bumps SEQ. The worker reads
 * JOB_ID, claims the chunk, and only then reads the rest (the caller never rewrites a header while a chunk of
 * its job is claimed and unfinished). JOB_POSTED counts the messages posted to that worker so far (registrations
 * and whole jobs `{ id, args }` of kind JOB_MSG): the worker receives up to that count before it runs the job.
 * Browser workers (no synchronous receive) get whole job messages `{ id, chunk, name, args, r0, r1 }` instead.
 *
 * Whoever wins Atomics.compareExchange(CLAIM + chunk, id, 0) runs a chunk: normally the worker it was posted
 * to, but the caller also claims the chunks that nobody has started once its own chunk is done (a worker that
 * is still booting or descheduled then costs nothing). The chunks are fixed before anyone runs, so who runs
 * which chunk never changes the result.
 */
export const MAX_CHUNKS = 256;
export const DONE = 0;
export const CLAIM = 1;
export const STATUS = CLAIM + MAX_CHUNKS;
export const SHARED_INTS = STATUS + MAX_CHUNKS;
export const SEQ = 0;
export const READY = 1;
// The header sits a cache line away from SEQ, which the worker polls: writing it does not disturb the poll.
export const JOB_ID = 16;
export const JOB_CHUNK = 17;
export const JOB_R0 = 18;
export const JOB_R1 = 19;
export const JOB_KIND = 20;
export const JOB_SHAPE = 21;
export const JOB_POSTED = 22;
export const CTL_INTS = 32;
/** Job kinds: the arguments are in the shared record (jobs.ts), or in a `{ id, args }` message. */
export const JOB_REC = 1;
export const JOB_MSG = 2;

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
