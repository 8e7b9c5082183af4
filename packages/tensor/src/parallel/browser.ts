/**
 * The browser backend of the worker pool: Web Workers + SharedArrayBuffer, behind the same `Platform`
 * interface as the Node backend (platform.ts), so pool.ts runs unchanged.
 *
 * - Available only where threads can block and share memory: a cross-origin-isolated page
 *   (`crossOriginIsolated`, i.e. served with COOP/COEP headers) and a worker thread (the pool's caller sleeps
 *   in Atomics.wait, which browsers forbid on the main thread). Elsewhere `browserPlatform()` returns null
 *   and every parallelFor call runs inline on the calling thread, with identical results.
 * - Each pool worker is a module Web Worker running browser-worker.ts. Jobs arrive as ordinary messages
 *   (browsers have no synchronous receive), so a pool worker never blocks: it claims and runs each job from
 *   its message handler (protocol.ts). A failing chunk's error is written as JSON into a small shared mailbox
 *   that the caller reads synchronously (`PlatformPort.receive`).
 * - `new Worker(new URL('./browser-worker.js', import.meta.url), {type: 'module'})` is the form bundlers
 *   (vite, webpack, esbuild plugins) recognise and bundle as a separate worker chunk.
 */
import type { Platform, PlatformPort, PlatformWorker } from './platform.js';

/** Bytes of a worker's error mailbox: [0..4) the JSON length (Int32), then the UTF-8 JSON. */
export const MAILBOX_BYTES = 64 * 1024;

/** The message that starts a browser pool worker. */
export interface BrowserInit {
  kind: 'init';
  ctl: Int32Array;
  shared: Int32Array;
  mailbox: SharedArrayBuffer;
  tag: number;
}

/** The slice of the Web Worker API used here (the package compiles without the DOM lib). */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'error', listener: (ev: unknown) => void): void;
}
type WorkerCtor = new (url: URL, options: { type: 'module'; name?: string }) => WebWorker;
type BrowserGlobals = { Worker?: WorkerCtor; crossOriginIsolated?: boolean; document?: unknown; Deno?: unknown };
// The global Web Worker constructor (checked with typeof before use). Written as the literal
// `new Worker(new URL(...), ...)` below so that bundlers recognise the worker entry and bundle it.
declare const Worker: WorkerCtor;

/** Writes `value` as JSON into a mailbox (truncating the message text if it does not fit). */
export function writeMailbox(mailbox: SharedArrayBuffer, value: { name?: string; message?: string; stack?: string }) {
  let bytes = new TextEncoder().encode(JSON.stringify(value));
  if (bytes.length > MAILBOX_BYTES - 4) {
    const short = { name: value.name, message: (value.message ?? '').slice(0, 4096) };
    bytes = new TextEncoder().encode(JSON.stringify(short));
  }
  new Uint8Array(mailbox, 4, bytes.length).set(bytes);
  Atomics.store(new Int32Array(mailbox, 0, 1), 0, bytes.length);
}

/** Reads and clears a mailbox; undefined when it is empty. */
export function readMailbox(mailbox: SharedArrayBuffer): unknown {
  const head = new Int32Array(mailbox, 0, 1);
  const n = Atomics.load(head, 0);
  if (n <= 0) return undefined;
  // TextDecoder refuses views of shared memory: copy out first.
  const plain = new Uint8Array(n);
  plain.set(new Uint8Array(mailbox, 4, n));
  Atomics.store(head, 0, 0);
  return JSON.parse(new TextDecoder().decode(plain));
}

let nextTag = 1;

/** The browser platform, or null where the pool cannot run (see the module comment). */
export function browserPlatform(): Platform | null {
  const g = globalThis as BrowserGlobals;
  // Deno: Web Workers share memory and the caller may block (no isolation headers there).
  const isolated = g.crossOriginIsolated === true || g.Deno !== undefined;
  if (typeof g.Worker !== 'function' || !isolated || g.document !== undefined) return null;
  if (typeof SharedArrayBuffer !== 'function') return null;
  return {
    name: 'browser',
    checkScript(): void {
      // The worker script is part of the bundle; a load failure surfaces as a dead worker whose chunks the
      // calling thread takes over (pool.ts), so nothing can hang on it.
    },
    spawn(_url, data) {
      const mailbox = new SharedArrayBuffer(MAILBOX_BYTES);
      const w = new Worker(new URL('./browser-worker.js', import.meta.url), {
        type: 'module',
        name: 'stade-pool',
      });
      let dead = false;
      w.addEventListener('error', () => {
        dead = true;
      });
      const tag = nextTag++;
      const init: BrowserInit = {
        kind: 'init',
        ctl: data.ctl as Int32Array,
        shared: data.shared as Int32Array,
        mailbox,
        tag,
      };
      w.postMessage(init);
      const worker: PlatformWorker = {
        alive: () => !dead,
        terminate: () => {
          dead = true;
          w.terminate();
          return Promise.resolve();
        },
      };
      const port: PlatformPort = {
        post: (m) => w.postMessage(m),
        receive: () => readMailbox(mailbox),
        close: () => {},
      };
      return { worker, port };
    },
  };
}
