import { Arena } from '@stade/tensor';
import {
  argmax,
  type CachedDecoder,
  type CausalLM,
  cachedDecoder,
  forwardCached,
  type KvCache,
} from '@stade/transformer';
import { CliError } from '../errors.js';

/** The model as a KV-cached decoder (every supported architecture is one). */
export function decoderOf(model: CausalLM, dir: string): CachedDecoder {
  try {
    return cachedDecoder(model);
  } catch (e) {
    throw new CliError(`${dir}: ${(e as Error).message}`);
  }
}

/**
 * Reads every weight the forward pass uses and compiles its code paths by running a few tokens through a small
 * throw-away cache (a 2-token prefill and single-token steps), so that timings measure computation, not disk reads or JIT warm-up.
 */
export function warmUp(model: CachedDecoder): void {
  const steps = Math.min(4, model.maxPositions);
  const cache = model.newCache(steps);
  try {
    forwardCached(model, Int32Array.of(0, 0).subarray(0, Math.min(2, steps)), cache, true);
    while (cache.length < steps) forwardCached(model, Int32Array.of(0), cache, true);
  } finally {
    cache.dispose(); // it may live in the resident arena: give its memory back
  }
}

/** How `settleDecode` warms up: at least `minSteps` steps and `seconds` of them, at most `maxSteps`. */
export interface SettleOptions {
  minSteps: number;
  seconds: number;
  maxSteps: number;
}

/**
 * Runs single-token steps on a throw-away cache until the JavaScript engine has compiled the decode path: at
 * least `minSteps` steps lasting `seconds` in all, at most `maxSteps` (and the model's positions). `warmUp`'s
 * few tokens read the weights but leave V8 optimizing for the next hundred steps or so (measured on the OPT-125M
 * shape at 2 threads: 17.6 ms per step over the first 20 steps, 10.2 from about step 120 on; its compiler threads
 * take CPU time from the pool's worker meanwhile), so a benchmark that times the first steps after a prompt
 * measures the compiler. Returns the steps run.
 */
export function settleDecode(model: CachedDecoder, opts: SettleOptions): number {
  const max = Math.min(opts.maxSteps, model.maxPositions);
  const cache = model.newCache(max);
  const arena = new Arena();
  try {
    const t0 = performance.now();
    let id = 0;
    let n = 0;
    while (n < max && (n < opts.minSteps || performance.now() - t0 < opts.seconds * 1000)) {
      id = forwardCachedTimed(model, Int32Array.of(id), cache, arena).id;
      n++;
    }
    return n;
  } finally {
    arena.dispose();
    cache.dispose();
  }
}

/** The eos_token_id of a config (a number or a list), as a list. */
export function eosIds(config: Record<string, unknown>): number[] {
  const e = config.eos_token_id;
  if (typeof e === 'number') return [e];
  return Array.isArray(e) ? e.filter((x): x is number => typeof x === 'number') : [];
}

/** `tokens / seconds`, or null when nothing was timed. */
export function perSecond(tokens: number, seconds: number): number | null {
  return tokens > 0 && seconds > 0 ? tokens / seconds : null;
}

/** A speed for humans: `1234.5 tokens/s` or `-`. */
export function fmtSpeed(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(1)} tokens/s`;
}

/**
 * One cached forward step and its greedy next token, timed: wall seconds and CPU seconds of the process. The
 * step's activations are lent by `arena` (reset after the step), as `generate` runs its steps.
 */
export function forwardCachedTimed(
  model: CachedDecoder,
  ids: Int32Array,
  cache: KvCache,
  arena: Arena,
): { seconds: number; cpuSeconds: number; id: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const id = arena.use(() => argmax(forwardCached(model, ids, cache, true).values()));
  arena.reset();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, id };
}
