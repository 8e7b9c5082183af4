/**
 * The worker thread that runs one `stade` command (see main.ts). Output, stderr text and temporary paths
 * are sent to the main thread as ordered messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseArgs } from './args.js';
import { errorLine, exitCodeOf } from './errors.js';
import type { Io } from './io.js';
import { runCommand } from './run.js';

/** What main.ts passes in. */
export interface WorkerInput {
  argv: string[];
  isTTY: boolean;
  columns: number;
}

/** Messages from the worker to the main thread. */
export type FromWorker =
  | { t: 'out'; s: string }
  | { t: 'err'; s: string }
  | { t: 'tmp+'; p: string }
  | { t: 'tmp-'; p: string }
  | { t: 'done' }
  | { t: 'fail'; line: string; stack?: string; code: number };

async function work(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker.ts must run in a worker thread');
  const input = workerData as WorkerInput;
  const send = (m: FromWorker) => port.postMessage(m);
  const io: Io = {
    out: (s) => send({ t: 'out', s }),
    err: (s) => send({ t: 'err', s }),
    isTTY: input.isTTY,
    columns: input.columns,
    tempCreated: (p) => send({ t: 'tmp+', p }),
    tempDone: (p) => send({ t: 'tmp-', p }),
  };
  try {
    await runCommand(parseArgs(input.argv), io, input.argv);
    send({ t: 'done' });
  } catch (e) {
    const stack = e instanceof Error ? e.stack : undefined;
    send({ t: 'fail', line: errorLine(e), ...(stack ? { stack } : {}), code: exitCodeOf(e) });
  }
}

void work();
