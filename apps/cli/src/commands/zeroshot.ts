import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildDocs,
  type DocResult,
  evaluateTask,
  getTask,
  lastWordRecords,
  PAPER_TASKS,
  Scorer,
  type ScoreStats,
  type TaskDoc,
  type TaskResult,
  type TaskSpec,
} from '@stade/eval';
import type { CausalLM } from '@stade/transformer';
import { bool, list, num, str, type Values } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { embedded } from '../paths.js';
import { DATA_EXTENSIONS, findTaskFile, readRecords } from '../records.js';
import { Progress } from '../report/progress.js';
import { renderTable } from '../report/table.js';
import { loadTokenizer, type TextTokenizer } from '../text.js';
import { openModel, resolveModelDir, since } from './common.js';

/** The embedded demo task's name and size. */
export const EMBEDDED_TASK = 'last_word';
const EMBEDDED_DOCS = 120;

/** `stade zeroshot --json` output (and what prune/sweep record). */
export interface ZeroshotResult {
  tasks: Record<string, TaskResult>;
  /** Mean of the tasks' acc. */
  mean_acc: number;
  model: string;
  /** Whether a BOS token was put in front of every input (--add-bos). */
  add_bos: boolean;
  max_length: number;
  tokens: number;
  seconds: number;
  tokens_per_s: number;
}

/** A task with its documents, ready to score. */
export interface LoadedTask {
  spec: TaskSpec;
  file: string;
  docs: TaskDoc[];
}

/** `--task-file NAME=FILE,...` as a map. */
function taskFiles(v: Values): Map<string, string> {
  const m = new Map<string, string>();
  for (const item of list(v, 'task-file')) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new UsageError(`--task-file expects NAME=FILE, got '${item}'`);
    const name = item.slice(0, eq);
    getTask(name);
    m.set(name, item.slice(eq + 1));
  }
  return m;
}

/**
 * Reads and checks every task's records before any scoring (a bad record stops the run with nothing written).
 * Without --data and --task-file: the embedded last-word task (LAMBADA-like) made from models/text.
 */
export async function loadTasks(v: Values): Promise<LoadedTask[]> {
  const files = taskFiles(v);
  const data = str(v, 'data');
  const limit = num(v, 'limit');
  const cut = (docs: TaskDoc[]) => (limit === undefined ? docs : docs.slice(0, limit));
  if (data === undefined && files.size === 0) {
    if (list(v, 'tasks').length > 0) throw new UsageError('--tasks needs --data DIR or --task-file NAME=FILE');
    const file = embedded.eval();
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new CliError(`the embedded text ${file} is missing (pass --data DIR)`);
    }
    const spec = { ...getTask('choice'), name: EMBEDDED_TASK };
    return [{ spec, file, docs: cut(buildDocs(spec, lastWordRecords(text, EMBEDDED_DOCS), file)) }];
  }
  const given = list(v, 'tasks');
  const names = given.length > 0 ? given : data !== undefined ? PAPER_TASKS : [...files.keys()];
  const out: LoadedTask[] = [];
  for (const name of names) {
    const spec = getTask(name);
    const named = files.get(name);
    if (named === undefined && data === undefined)
      throw new UsageError(`no data for task ${name}: pass --data DIR or --task-file ${name}=FILE`);
    const file = named ?? findTaskFile(data!, name);
    const { records, numbers } = await readRecords(file);
    out.push({ spec, file, docs: cut(buildDocs(spec, records, file, numbers)) });
  }
  return out;
}

/** The paper's tasks whose files are in `dir` (for prune/sweep --zeroshot DIR); an error when there is none. */
export async function tasksInFolder(dir: string, limit?: number): Promise<LoadedTask[]> {
  const found = PAPER_TASKS.filter((t) => DATA_EXTENSIONS.some((e) => existsSync(join(dir, t + e))));
  if (found.length === 0)
    throw new CliError(
      `--zeroshot ${dir}: no task file (<task>.jsonl or <task>.parquet for ${PAPER_TASKS.join(', ')})`,
    );
  return loadTasks({ data: dir, tasks: found, limit });
}

/** Accuracy before and after pruning, as prune/sweep report and the model card records. */
export interface ZeroshotComparison {
  data: string;
  dense: Record<string, TaskResult>;
  pruned: Record<string, TaskResult>;
  dense_mean_acc: number;
  pruned_mean_acc: number;
}

/** Scores loaded tasks without output besides the progress bar (prune and sweep). */
export function quietZeroshot(
  model: CausalLM,
  tok: TextTokenizer,
  tasks: readonly LoadedTask[],
  io: Io,
  label: string,
) {
  return runTasks(model, tok, tasks, { bos: null, maxLength: model.maxPositions, io, label }).result;
}

/** The before/after accuracy table (task, n, dense acc, pruned acc). */
export function zeroshotCompareTable(z: ZeroshotComparison): string {
  const rows = Object.keys(z.dense).map((t) => [t, String(z.dense[t]!.n), f4(z.dense[t]!.acc), f4(z.pruned[t]?.acc)]);
  rows.push(['mean', '', f4(z.dense_mean_acc), f4(z.pruned_mean_acc)]);
  const right = { align: 'right' as const };
  return renderTable(
    [
      { header: 'task' },
      { header: 'n', ...right },
      { header: 'dense acc', ...right },
      { header: 'pruned acc', ...right },
    ],
    rows,
  );
}

/** The tokenizer's BOS id (tokenizer_config.json's bos_token, else config.json's bos_token_id). */
function bosId(tok: TextTokenizer, model: CausalLM, dir: string): number {
  let name: unknown;
  try {
    name = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')).bos_token;
  } catch {
    name = undefined;
  }
  if (name && typeof name === 'object') name = (name as { content?: unknown }).content;
  const id = typeof name === 'string' ? tok.tokenizer.token_to_id(name) : undefined;
  const fallback = model.config.bos_token_id;
  if (id !== undefined) return id;
  if (typeof fallback === 'number') return fallback;
  throw new CliError(
    `--add-bos: ${dir} names no BOS token (tokenizer_config.json bos_token, config.json bos_token_id)`,
  );
}

/** Runs loaded tasks on a model: metrics per task and every document's scores. */
export function runTasks(
  model: CausalLM,
  tok: TextTokenizer,
  tasks: readonly LoadedTask[],
  opts: { bos: number | null; maxLength: number; io: Io; label: string },
): { result: Omit<ZeroshotResult, 'model'>; samples: DocResult[] } {
  const t0 = performance.now();
  const encode = (text: string) => Int32Array.from(tok.tokenizer.encode(text, { add_special_tokens: false }).ids);
  const total = tasks.reduce((s, t) => s + t.docs.length, 0);
  const bar = new Progress(opts.io, opts.label, total);
  const stats: ScoreStats = { forwards: 0, tokens: 0, headRows: 0 };
  const scorer = new Scorer(model, { maxLength: opts.maxLength }, stats);
  const results: Record<string, TaskResult> = {};
  const samples: DocResult[] = [];
  let done = 0;
  for (const t of tasks) {
    const onDoc = () => bar.update(++done, t.spec.name);
    const { result, samples: mine } = evaluateTask(model, encode, t.spec, t.docs, { bos: opts.bos, scorer, onDoc });
    results[t.spec.name] = result;
    samples.push(...mine);
  }
  bar.finish();
  const seconds = since(t0);
  const accs = Object.values(results).map((r) => r.acc);
  return {
    result: {
      tasks: results,
      mean_acc: accs.reduce((a, b) => a + b, 0) / Math.max(1, accs.length),
      add_bos: opts.bos !== null,
      max_length: opts.maxLength,
      tokens: stats.tokens,
      seconds,
      tokens_per_s: stats.tokens / Math.max(seconds, 1e-9),
    },
    samples,
  };
}

const f4 = (x: number | null | undefined) => (x === undefined || x === null ? '-' : x.toFixed(4));

/** The accuracy table (harness style: value and standard error). */
export function zeroshotTable(tasks: Record<string, TaskResult>): string {
  const rows = Object.entries(tasks).map(([name, r]) => [
    name,
    String(r.n),
    f4(r.acc),
    f4(r.acc_stderr),
    f4(r.acc_norm),
    r.acc_norm === undefined ? '' : f4(r.acc_norm_stderr),
  ]);
  const right = { align: 'right' as const };
  return renderTable(
    [
      { header: 'task' },
      { header: 'n', ...right },
      { header: 'acc', ...right },
      { header: '± stderr', ...right },
      { header: 'acc_norm', ...right },
      { header: '± stderr', ...right },
    ],
    rows,
  );
}

/** Writes the samples as JSON lines, atomically (a temporary file renamed into place). */
function writeSamples(file: string, samples: readonly DocResult[], io: Io): void {
  const tmp = `${file}.tmp-${process.pid}`;
  io.tempCreated(tmp);
  try {
    writeFileSync(tmp, samples.map((s) => `${JSON.stringify(s)}\n`).join(''));
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new CliError(`cannot write --samples ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    io.tempDone(tmp);
  }
}

/** `stade zeroshot`: zero-shot accuracy as lm-evaluation-harness v0.4.x measures it. */
export async function zeroshotCommand(v: Values, io: Io): Promise<ZeroshotResult> {
  const dir = resolveModelDir(v);
  const tasks = await loadTasks(v);
  const { model } = openModel(dir);
  const tok = loadTokenizer(dir);
  const maxLength = num(v, 'max-length') ?? model.maxPositions;
  if (maxLength > model.maxPositions)
    throw new UsageError(`--max-length ${maxLength} exceeds the model's max_position_embeddings ${model.maxPositions}`);
  const bos = bool(v, 'add-bos') ? bosId(tok, model, dir) : null;
  const { result, samples } = runTasks(model, tok, tasks, { bos, maxLength, io, label: 'zeroshot' });
  const out: ZeroshotResult = { ...result, model: dir };
  const samplesFile = str(v, 'samples');
  if (samplesFile) writeSamples(samplesFile, samples, io);
  if (bool(v, 'json')) {
    io.out(`${JSON.stringify(out)}\n`);
    return out;
  }
  const bosText = bos === null ? 'no BOS token added' : `BOS token ${bos} added`;
  io.out(
    `zero-shot accuracy of ${dir} (lm-evaluation-harness v0.4.x prompts and scoring; ${bosText}; max length ${maxLength})\n\n`,
  );
  io.out(`${zeroshotTable(out.tasks)}\n\n`);
  io.out(`mean acc over ${Object.keys(out.tasks).length} task(s): ${f4(out.mean_acc)}\n`);
  io.out(`${out.tokens} tokens in ${out.seconds.toFixed(1)} s (${out.tokens_per_s.toFixed(0)} tokens/s)\n`);
  return out;
}
