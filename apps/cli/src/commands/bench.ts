import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WeightFormat } from '@stade/transformer';
import { bool, list, num, str, type Values } from '../args.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { renderTable } from '../report/table.js';
import type { BenchRequest, BenchRow } from './bench-measure.js';
import { checkModelDir, resolveModelDir } from './common.js';

/** `stade bench --json` output. */
export interface BenchJson {
  models: BenchRow[];
}

const CHILD = fileURLToPath(new URL('../bench-child.js', import.meta.url));

/** Measures one model with one weight format in a fresh process (its own resident memory). */
export function benchInProcess(req: BenchRequest): BenchRow {
  const r = spawnSync(process.execPath, [CHILD, JSON.stringify(req)], {
    env: process.env,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) {
    const line = (r.stderr || '').trim().split('\n').pop() ?? '';
    throw new CliError(
      line.replace(/^stade: error: /, '') || `benchmark of ${req.model} failed (${r.signal ?? `exit ${r.status}`})`,
    );
  }
  return JSON.parse(r.stdout) as BenchRow;
}

/** `speedup of B over A: prefill x, decode y` lines for every row against the first. */
export function speedupLines(rows: readonly BenchRow[]): string[] {
  const base = rows[0]!;
  return rows
    .slice(1)
    .map(
      (r) =>
        `${r.model} (${r.weights}) over ${base.model} (${base.weights}): prefill ` +
        `${(r.prefill_tokens_per_s / base.prefill_tokens_per_s).toFixed(2)}x, decode ` +
        `${(r.decode_tokens_per_s / base.decode_tokens_per_s).toFixed(2)}x`,
    );
}

/** The rows as a table. */
export function benchTable(rows: readonly BenchRow[]): string {
  return renderTable(
    [
      { header: 'model' },
      { header: 'weights' },
      { header: 'prefill tokens/s', align: 'right' },
      { header: 'decode tokens/s', align: 'right' },
      { header: 'RSS MB', align: 'right' },
    ],
    rows.map((r) => [
      r.model,
      r.weights,
      r.prefill_tokens_per_s.toFixed(1),
      r.decode_tokens_per_s.toFixed(2),
      r.rss_mb.toFixed(0),
    ]),
  );
}

/**
 * `stade bench`: prefill and decode speed and peak resident memory of a model (and of --compare), each model and
 * weight format measured in its own process, one after the other (issue 11).
 */
export async function benchCommand(v: Values, io: Io): Promise<BenchJson> {
  const dirs = [resolveModelDir(v)];
  const other = str(v, 'compare');
  if (other !== undefined) dirs.push(checkModelDir(other, other));
  const promptTokens = num(v, 'prompt-tokens')!;
  const newTokens = num(v, 'new-tokens')!;
  const rows: BenchRow[] = [];
  for (const model of dirs) {
    for (const weights of list(v, 'weights') as WeightFormat[]) {
      io.err(`bench: ${model} (--weights ${weights})\n`);
      rows.push(benchInProcess({ model, weights, promptTokens, newTokens }));
    }
  }
  if (bool(v, 'json')) io.out(`${JSON.stringify({ models: rows })}\n`);
  else {
    io.out(`${benchTable(rows)}\n`);
    for (const l of speedupLines(rows)) io.out(`${l}\n`);
    io.out(
      `(prefill: ${promptTokens} tokens, fastest of 3; decode: median of ${newTokens} single-token steps after it)\n`,
    );
  }
  return { models: rows };
}

/**
 * `stade prune --bench`: the original and the saved model, each with `--weights auto` in its own process (128-token
 * prompt and 32 decode steps, shortened to fit max_position_embeddings); the speedup goes to the prune report.
 */
export function benchSaved(io: Io, original: string, saved: string, maxPositions: number): BenchJson {
  const promptTokens = Math.max(1, Math.min(128, maxPositions - 32));
  const newTokens = Math.max(1, Math.min(32, maxPositions - promptTokens));
  const models = [original, saved].map((model) => {
    io.err(`bench: ${model} (--weights auto)\n`);
    return benchInProcess({ model, weights: 'auto', promptTokens, newTokens });
  });
  return { models };
}
