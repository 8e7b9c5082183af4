import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { contiguousWindows, randomWindows } from '@stade/prune';
import { type CausalLM, Checkpoint, modelFromCheckpoint } from '@stade/transformer';
import { num, str, type Values } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { embedded } from '../paths.js';
import { checkVocab, readDocuments, type TextTokenizer, tokenizeDocuments, tokenizeJoined } from '../text.js';

/** The model folder from --model, or the embedded default. */
export function resolveModelDir(v: Values): string {
  return checkModelDir(str(v, 'model'), embedded.model());
}

/** A given model folder, or `fallback` (an embedded model), which must exist. */
export function checkModelDir(given: string | undefined, fallback: string): string {
  const dir = given ?? fallback;
  if (!existsSync(dir)) {
    throw new CliError(
      given
        ? `model folder ${dir} does not exist`
        : `the embedded model ${dir} is missing (pass --model DIR, or run from a full clone of the repository)`,
    );
  }
  return dir;
}

/** A text path from a flag, or an embedded default. */
export function resolveTextPath(v: Values, flag: string, fallback: () => string): string {
  return str(v, flag) ?? fallback();
}

/** Opens a model folder: the checkpoint (for dtype and names) and the model on it. */
export function openModel(dir: string): { ckpt: Checkpoint; model: CausalLM } {
  const ckpt = Checkpoint.open(dir);
  try {
    return { ckpt, model: modelFromCheckpoint(ckpt) };
  } catch (e) {
    ckpt.close();
    throw e;
  }
}

/** --seqlen, defaulting to min(2048, max_position_embeddings) and never above it. */
export function resolveSeqlen(v: Values, model: CausalLM, dir: string): number {
  const s = num(v, 'seqlen');
  const max = model.maxPositions;
  if (s === undefined) return Math.min(2048, max);
  if (s > max) {
    throw new UsageError(
      `--seqlen ${s} exceeds the model's max_position_embeddings ${max} (${join(dir, 'config.json')})`,
    );
  }
  return s;
}

/** Evaluation token ids: documents joined by "\n\n", tokenised once; at least one window long. */
export function evalIds(tok: TextTokenizer, path: string, model: CausalLM, seqlen: number): Int32Array {
  const ids = tokenizeJoined(tok, readDocuments(path));
  checkVocab(ids, model.vocabSize, path);
  if (ids.length < seqlen) {
    throw new CliError(
      `${path} has ${ids.length} tokens, fewer than one window of ${seqlen} (lower --seqlen or use more text)`,
    );
  }
  return ids;
}

/** The first `max` windows of `ids` (all when `max` is undefined). */
export function limitWindows(ids: Int32Array, seqlen: number, max: number | undefined): Int32Array {
  return max === undefined ? ids : ids.subarray(0, Math.min(ids.length, max * seqlen));
}

/** Calibration recipe flags. */
export interface CalibOptions {
  nsamples: number;
  seqlen: number;
  sampling: 'random' | 'contiguous';
  seed: number;
}

/** Calibration windows (SPEC 2) from a text source; errors name the file. */
export function calibrationWindows(
  tok: TextTokenizer,
  path: string,
  model: CausalLM,
  o: CalibOptions,
): { windows: Int32Array[]; tokens: number } {
  const docs = readDocuments(path);
  try {
    if (o.sampling === 'contiguous') {
      const ids = tokenizeJoined(tok, docs);
      checkVocab(ids, model.vocabSize, path);
      return { windows: contiguousWindows(ids, o), tokens: ids.length };
    }
    const perDoc = tokenizeDocuments(tok, docs);
    let tokens = 0;
    for (const d of perDoc) {
      checkVocab(d, model.vocabSize, path);
      tokens += d.length;
    }
    return { windows: randomWindows(perDoc, o), tokens };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
}

/** Reads the calibration flags shared by prune and sweep. */
export function calibOptions(v: Values, seqlen: number): CalibOptions {
  return {
    nsamples: num(v, 'nsamples')!,
    seqlen,
    sampling: str(v, 'sampling') as CalibOptions['sampling'],
    seed: num(v, 'seed')!,
  };
}

/** Seconds since `t0` (from performance.now()). */
export const since = (t0: number): number => (performance.now() - t0) / 1000;

/**
 * Peak resident memory of this process so far, in MB: `process.resourceUsage().maxRSS` (Node, Bun; kilobytes),
 * else the current RSS from `process.memoryUsage()`, else null (runtimes without either).
 */
export function peakRssMb(): number | null {
  const proc = (globalThis as { process?: Partial<NodeJS.Process> }).process;
  try {
    const kb = proc?.resourceUsage?.().maxRSS;
    if (typeof kb === 'number' && kb > 0) return Math.round(kb / 1024);
  } catch {
    // not implemented here
  }
  try {
    const rss = proc?.memoryUsage?.().rss;
    if (typeof rss === 'number' && rss > 0) return Math.round(rss / 2 ** 20);
  } catch {
    // not implemented here
  }
  return null;
}
