import { Arena, releaseResidentDecode } from '@stade/tensor';
import { applyWeightFormat, seededRandom, type WeightFormat } from '@stade/transformer';
import { CliError } from '../errors.js';
import { openModel } from './common.js';
import { decoderOf, forwardCachedTimed, type SettleOptions, settleDecode, warmUp } from './decoding.js';

/** What one benchmark process measures. */
export interface BenchRequest {
  model: string;
  weights: WeightFormat;
  promptTokens: number;
  newTokens: number;
}

/** One row of `stade bench --json`. */
export interface BenchRow {
  model: string;
  /** The `--weights` format it ran with. */
  weights: string;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  /**
   * The same per CPU second of the process (all its threads): steadier than wall time on a shared machine, where
   * a row waits for the CPU a varying share of the time.
   */
  prefill_tokens_per_cpu_s: number;
  decode_tokens_per_cpu_s: number;
  /** Peak resident memory of the process that measured the row, in MB. */
  rss_mb: number;
}

/** Prefill repetitions (the fastest counts) and the decode statistic (the median step). */
const PREFILL_REPEATS = 3;
/** Decode steps before the measured ones, so that the steps measure the compiled code (`settleDecode`). */
const SETTLE: SettleOptions = { minSteps: 32, seconds: 2, maxSteps: 256 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Loads a model, warms it up (a few tokens, then about 2 s of single-token steps: `settleDecode`), and measures
 * prefill (a prompt of `promptTokens` seeded random ids, fastest of 3)
 * and decode (`newTokens` single-token steps after it, greedy; the median step) with a KV cache, in wall and CPU time.
 */
export function measureSpeed(req: BenchRequest): BenchRow {
  const { ckpt, model } = openModel(req.model);
  try {
    const m = decoderOf(model, req.model);
    applyWeightFormat(m, req.weights);
    const need = req.promptTokens + req.newTokens;
    if (need > m.maxPositions) {
      throw new CliError(
        `--prompt-tokens ${req.promptTokens} + --new-tokens ${req.newTokens} exceed max_position_embeddings ${m.maxPositions} of ${req.model}`,
      );
    }
    const rand = seededRandom(1);
    const prompt = Int32Array.from({ length: req.promptTokens }, () => Math.floor(rand() * m.vocabSize));
    warmUp(m);
    settleDecode(m, SETTLE);
    const cache = m.newCache(need);
    const arena = new Arena(); // every step's activations, as `generate` runs its steps
    let prefill = Number.POSITIVE_INFINITY;
    let prefillCpu = Number.POSITIVE_INFINITY;
    let next = 0;
    for (let r = 0; r < PREFILL_REPEATS; r++) {
      cache.reset();
      const { seconds, cpuSeconds, id } = forwardCachedTimed(m, prompt, cache, arena);
      prefill = Math.min(prefill, seconds);
      prefillCpu = Math.min(prefillCpu, cpuSeconds);
      next = id;
    }
    const steps: number[] = [];
    const cpuSteps: number[] = [];
    for (let t = 0; t < req.newTokens; t++) {
      const { seconds, cpuSeconds, id } = forwardCachedTimed(m, Int32Array.of(next), cache, arena);
      steps.push(seconds);
      cpuSteps.push(cpuSeconds);
      next = id;
    }
    arena.dispose();
    cache.dispose();
    return {
      model: req.model,
      weights: req.weights,
      prefill_tokens_per_s: req.promptTokens / prefill,
      decode_tokens_per_s: 1 / median(steps),
      prefill_tokens_per_cpu_s: req.promptTokens / prefillCpu,
      decode_tokens_per_cpu_s: 1 / median(cpuSteps),
      rss_mb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    releaseResidentDecode();
    ckpt.close();
  }
}
