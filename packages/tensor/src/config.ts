/**
 * Engine switches: the worker-thread count and the kernel backend.
 *
 * - Threads: default = the machine's available cores (`os.availableParallelism()` in Node,
 *   `navigator.hardwareConcurrency` in browsers), or env `STADE_THREADS` when set. `setThreads(1)` keeps all
 *   work on the calling thread. Changing the count resizes the worker pool.
 * - Backend: `'auto'` (WebAssembly SIMD when the runtime has it, else plain TypeScript kernels), `'wasm'`
 *   (force SIMD; ops throw if it is unavailable), `'js'` (force the plain kernels); env `STADE_BACKEND`.
 *
 * This module is safe to load in a browser: it touches no Node built-in statically.
 */

export type Backend = 'auto' | 'wasm' | 'js';

const MAX_THREADS = 256;

type ProcessLike = {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
};

function processLike(): ProcessLike | undefined {
  return (globalThis as { process?: ProcessLike }).process;
}

function env(name: string): string | undefined {
  const v = processLike()?.env?.[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

let coresHint = 0;

/** The number of cores the runtime reports (at least 1). */
export function availableCores(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav && Number.isInteger(nav.hardwareConcurrency) && nav.hardwareConcurrency! > 0) return nav.hardwareConcurrency!;
  const os = processLike()?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  const n = os?.availableParallelism?.();
  if (n !== undefined && Number.isInteger(n) && n > 0) return n;
  return coresHint > 0 ? coresHint : 1;
}

// Node < 20.16 has no process.getBuiltinModule: learn the core count asynchronously (until then: 1 thread).
if (
  (processLike() as { versions?: { node?: string } } | undefined)?.versions?.node &&
  !processLike()?.getBuiltinModule
) {
  import('node:os').then(
    (os) => {
      coresHint = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
      if (threadsAuto) threads = undefined; // re-derive the default on next use
    },
    () => {},
  );
}

function parseThreads(value: unknown, source: string): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(
      `${source}: expected an integer thread count in [1, ${MAX_THREADS}], got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function parseBackend(value: unknown, source: string): Backend {
  if (value === 'auto' || value === 'wasm' || value === 'js') return value;
  throw new RangeError(`${source}: expected 'auto', 'wasm' or 'js', got ${JSON.stringify(value)}`);
}

let threads: number | undefined;
/** True while `threads` is the derived default (not from setThreads or STADE_THREADS). */
let threadsAuto = false;
let backend: Backend | undefined;
const threadListeners: ((n: number) => void)[] = [];

/** The number of threads parallel ops may use, the calling thread included (>= 1). */
export function getThreads(): number {
  if (threads === undefined) {
    const e = env('STADE_THREADS');
    threadsAuto = e === undefined;
    threads = e !== undefined ? parseThreads(e, 'env STADE_THREADS') : Math.min(availableCores(), MAX_THREADS);
  }
  return threads;
}

/** Sets the thread count (an integer >= 1; 1 = no workers). The pool grows or shrinks to match. */
export function setThreads(n: number): void {
  const v = parseThreads(n, 'setThreads');
  const changed = v !== threads;
  threads = v;
  threadsAuto = false;
  if (changed) for (const f of threadListeners) f(v);
}

/** Called with the new count whenever `setThreads` changes it (the pool uses this to resize). */
export function onThreadsChange(f: (n: number) => void): void {
  threadListeners.push(f);
}

/** The requested backend: 'auto' (default), 'wasm' or 'js'. */
export function getBackend(): Backend {
  if (backend === undefined) {
    const e = env('STADE_BACKEND');
    backend = e !== undefined ? parseBackend(e.toLowerCase(), 'env STADE_BACKEND') : 'auto';
  }
  return backend;
}

/** Selects the kernel backend for matmul/linear and other ops with a SIMD path. */
export function setBackend(b: Backend): void {
  backend = parseBackend(b, 'setBackend');
}

let simd: boolean | undefined;

/** `(module (func (result T) v128.const i32x4 0 0 0 0))`; valid only with SIMD and T = v128 (0x7b). */
export function simdProbeBytes(resultType = 0x7b): Uint8Array {
  const body = [0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, resultType], // type section: () -> T
    ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
    ...[0x0a, body.length + 2, 0x01, body.length, ...body], // code section
  ]);
}

/** True when the runtime validates a WebAssembly module that uses 128-bit SIMD. */
export function wasmSimdAvailable(): boolean {
  if (simd === undefined) {
    const wa = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
    try {
      simd = wa?.validate(simdProbeBytes()) === true;
    } catch {
      simd = false;
    }
  }
  return simd;
}

/** The backend ops should use now: 'wasm' or 'js' ('auto' resolved; 'wasm' without SIMD support throws). */
export function resolveBackend(): 'wasm' | 'js' {
  const b = getBackend();
  if (b === 'js') return 'js';
  if (wasmSimdAvailable()) return 'wasm';
  if (b === 'wasm')
    throw new Error(
      "backend 'wasm' was requested (setBackend or STADE_BACKEND) but this runtime has no WebAssembly SIMD",
    );
  return 'js';
}
