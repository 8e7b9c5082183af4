/**
 * Thread primitives behind a small interface, so that the pool has no static Node import (code a browser
 * loads must not pull in Node built-ins). On Node the built-ins come from `process.getBuiltinModule`
 * (Node >= 20.16) or, on older Node 20, from a dynamic import (the pool then runs inline until it resolves).
 * In browsers the Web Worker backend of browser.ts implements the same interface (null, i.e. inline, on the
 * main thread or without cross-origin isolation).
 */
import type * as FsModule from 'node:fs';
import type * as UrlModule from 'node:url';
import type * as WorkerThreads from 'node:worker_threads';
// Browser backend (Web Workers + SharedArrayBuffer, owned by the docs/demo work): selected in detect() below.
import { browserPlatform } from './browser.js';
import { CLAIM, DONE, JOB_CHUNK, JOB_ID, SEQ, STATUS } from './protocol.js';

/** A running worker. */
export interface PlatformWorker {
  /** False once the worker thread has stopped (crashed, terminated or failed to load). */
  alive(): boolean;
  terminate(): Promise<void>;
}

/** The calling thread's end of a worker's message channel (synchronous receive). */
export interface PlatformPort {
  post(message: unknown): void;
  /** The next queued message from the worker, or undefined (never blocks). */
  receive(): unknown;
  close(): void;
}

export interface Platform {
  readonly name: string;
  /** Its workers keep the process alive (Deno's Web Workers have no unref): the pool stops them when idle. */
  readonly keepsProcessAlive?: boolean;
  /**
   * Its workers read jobs from shared memory (the ctl header and the shared record, protocol.ts) and receive
   * messages synchronously; otherwise every job is posted whole as a `Job` message.
   */
  readonly sharedJobs?: boolean;
  /** Throws a clear error when the worker script cannot be loaded (e.g. dist/ not built). */
  checkScript(url: URL): void;
  /**
   * Starts a worker running the module `url`; `data` becomes its workerData together with `port` (its end of
   * the channel) and `script` (the url). If the module fails to load, the worker answers every job with that
   * error (see BOOTSTRAP; it reads the job header, so only for `sharedJobs` platforms).
   */
  spawn(url: URL, data: Record<string, unknown>): { worker: PlatformWorker; port: PlatformPort };
}

/**
 * Worker bootstrap (valid as a CommonJS or an ES module script). It imports the real entry; if that fails it
 * answers every job it claims with the load error (protocol.ts), so the caller gets a clear error instead of
 * waiting forever on a worker that never started.
 */
const BOOTSTRAP = `import('node:worker_threads').then((wt) => {
  const d = wt.workerData;
  return import(d.script).catch((e) => {
    const msg = { name: 'Error', message: 'parallelFor: pool worker failed to start: ' + (e && e.message ? e.message : String(e)), stack: e && e.stack };
    for (let seen = 0; ; ) {
      const seq = Atomics.load(d.ctl, ${SEQ});
      if (seq === seen) {
        Atomics.wait(d.ctl, ${SEQ}, seen);
        continue;
      }
      seen = seq;
      while (wt.receiveMessageOnPort(d.port) !== undefined) {}
      const id = Atomics.load(d.ctl, ${JOB_ID});
      const chunk = d.ctl[${JOB_CHUNK}];
      if (Atomics.compareExchange(d.shared, ${CLAIM} + chunk, id, 0) !== id) continue;
      d.port.postMessage(msg);
      Atomics.store(d.shared, ${STATUS} + chunk, -id);
      Atomics.add(d.shared, ${DONE}, 1);
      Atomics.notify(d.shared, ${DONE});
    }
  });
});`;

/** The parent's Node options minus those that only make sense for the main script (-e, -p, --input-type). */
export function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '--input-type') {
      i++; // drop the option and its value
      continue;
    }
    if (/^(--eval|--print|--input-type)=/.test(a) || a === '-pe') {
      if (a === '-pe') i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

type Modules = { wt: typeof WorkerThreads; fs: typeof FsModule; url: typeof UrlModule };

function nodePlatform({ wt, fs, url: urlMod }: Modules): Platform {
  return {
    name: 'node',
    sharedJobs: true,
    checkScript(url: URL): void {
      const file = urlMod.fileURLToPath(url);
      if (!fs.existsSync(file)) {
        throw new Error(`parallelFor: worker script ${file} not found; build the package first (npm run build)`);
      }
    },
    spawn(url, data) {
      const { port1, port2 } = new wt.MessageChannel();
      const w = new wt.Worker(BOOTSTRAP, {
        eval: true,
        workerData: { ...data, port: port2, script: url.href },
        transferList: [port2],
        execArgv: workerExecArgv(process.execArgv),
      });
      w.unref(); // the pool never keeps the process alive
      // A load failure must not become an uncaught 'error' event; the pool sees a dead worker via alive().
      w.on('error', () => {});
      return {
        worker: { alive: () => w.threadId !== -1, terminate: () => w.terminate().then(() => undefined) },
        port: {
          post: (m) => port1.postMessage(m),
          receive: () => wt.receiveMessageOnPort(port1)?.message,
          close: () => port1.close(),
        },
      };
    },
  };
}

type Proc = { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };

let platform: Platform | null = null;

function detect(): void {
  const proc = (globalThis as { process?: Proc }).process;
  if (!proc?.versions?.node || (globalThis as { Deno?: unknown }).Deno !== undefined) {
    // Not Node: the browser backend (browser.ts) when cross-origin isolated and on a worker thread, else null.
    // Deno too: its node:worker_threads ports take seconds to deliver a message that carries a large
    // SharedArrayBuffer (the pool's job arguments), so its caller ran every chunk itself; its Web Workers
    // share the buffers at once.
    const web = browserPlatform();
    platform = web && proc?.versions?.node ? { ...web, name: 'deno', keepsProcessAlive: true } : web;
    return;
  }
  const gbm = proc.getBuiltinModule;
  if (gbm) {
    platform = nodePlatform({
      wt: gbm('node:worker_threads') as typeof WorkerThreads,
      fs: gbm('node:fs') as typeof FsModule,
      url: gbm('node:url') as typeof UrlModule,
    });
    return;
  }
  Promise.all([import('node:worker_threads'), import('node:fs'), import('node:url')]).then(
    ([wt, fs, url]) => {
      platform = nodePlatform({ wt, fs, url });
    },
    () => {},
  );
}
detect();

/** The thread platform, or null when workers are unavailable (every parallel call then runs inline). */
export function getPlatform(): Platform | null {
  return platform;
}
