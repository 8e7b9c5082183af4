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
