import { existsSync } from 'node:fs';
import {
  applyPruning,
  collectDenseStats,
  type DenseStats,
  type Method,
  methodNeeds,
  type PruneReport,
  pruneModel,
  restoreLinears,
  snapshotLinears,
} from '@stade/prune';
import { perplexity } from '@stade/transformer';
import { bool, list, num, str, type Values } from '../args.js';
import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { embedded } from '../paths.js';
import { type Pattern, parsePattern, parseSparsities, patternName } from '../recipe.js';
import { sweepHtml, writeFileAtomic } from '../report/html.js';
import { log, Progress } from '../report/progress.js';
import { fmtPct, fmtPpl, renderTable } from '../report/table.js';
import type { SweepOutput, SweepResult, SweepRow } from '../report/types.js';
import { loadTokenizer } from '../text.js';
import {
  calibOptions,
  calibrationWindows,
  checkModelDir,
  evalIds,
  limitWindows,
  openModel,
  resolveSeqlen,
  since,
} from './common.js';
import { layerErrors } from './layer-error.js';
import { checkReportPath } from './prune.js';
import { type LoadedTask, quietZeroshot, tasksInFolder } from './zeroshot.js';

/** One run of a sweep. */
export interface SweepCase {
  method: Method;
  pattern: Pattern;
  sparsity: number;
}

/** Every combination: each method at each unstructured sparsity, and once at N/M for each N:M pattern. */
export function sweepCases(
  methods: readonly string[],
  sparsities: readonly number[],
  patterns: readonly Pattern[],
): SweepCase[] {
  const cases: SweepCase[] = [];
  const seen = new Set<string>();
  for (const p of patterns) {
    const ss = p === 'unstructured' ? sparsities : [p.n / p.m];
    for (const s of ss) {
      for (const m of methods) {
        const key = `${m}|${patternName(p)}|${s}`;
        if (seen.has(key)) continue;
        seen.add(key);
        cases.push({ method: m as Method, pattern: p, sparsity: s });
      }
    }
  }
  return cases;
}

/** Settings shared by the sweeps of every model. */
interface SweepSettings {
  cases: SweepCase[];
  mode: 'dense-stats' | 'sequential';
  owl: boolean;
  group: 'row' | 'layer';
  biasCorrection: boolean;
  seed: number;
  calibPath: string;
  evalPath: string;
  /** `--zeroshot DIR`: its tasks, scored on the dense model and after every run. */
  zeroshot: { data: string; tasks: LoadedTask[] } | null;
}

/** `stade sweep`: compare methods, sparsities and patterns on one or more models. */
export async function sweepCommand(v: Values, io: Io): Promise<SweepOutput> {
  const t0 = performance.now();
  const cases = sweepCases(
    list(v, 'methods'),
    parseSparsities(list(v, 'sparsities')),
    list(v, 'patterns').map((p) => parsePattern(p, '--patterns')),
  );
  if (cases.length === 0) throw new UsageError('nothing to sweep: give at least one method, sparsity and pattern');
  const html = str(v, 'html');
  checkReportPath(html);
  const zsDir = str(v, 'zeroshot');
  const zeroshot = zsDir ? { data: zsDir, tasks: await tasksInFolder(zsDir, num(v, 'zeroshot-limit')) } : null;
  const given = v.model === undefined ? undefined : list(v, 'model');
  const present = embedded.sweepModels().filter((d) => existsSync(d));
  const dirs = given
    ? given.map((d) => checkModelDir(d, d))
    : present.length > 0
      ? present
      : [checkModelDir(undefined, embedded.sweepModels()[0]!)];
  const settings: SweepSettings = {
    cases,
    mode: str(v, 'mode') as SweepSettings['mode'],
    owl: bool(v, 'owl'),
    group: str(v, 'group') as SweepSettings['group'],
    biasCorrection: !bool(v, 'no-bias-correction'),
    seed: num(v, 'seed')!,
    calibPath: str(v, 'calib') ?? embedded.calib(),
    evalPath: str(v, 'eval') ?? embedded.eval(),
    zeroshot,
  };
  const sweeps: SweepResult[] = [];
  for (const dir of dirs) {
    const r = sweepModel(dir, v, settings, io);
    sweeps.push(r);
    if (!bool(v, 'json')) io.out(sweepText(r));
  }
  const out: SweepOutput = { sweeps, seconds: since(t0) };
  if (html) writeFileAtomic(io, html, sweepHtml(sweeps));
  if (bool(v, 'json')) io.out(`${JSON.stringify(out)}\n`);
  return out;
}

/** Every run of a sweep on one model. */
function sweepModel(dir: string, v: Values, s: SweepSettings, io: Io): SweepResult {
  const t0 = performance.now();
  const { cases, mode } = s;
  const { ckpt, model } = openModel(dir);
  const seqlen = resolveSeqlen(v, model, dir);
  const tok = loadTokenizer(dir);
  const calib = calibOptions(v, seqlen);
  const { windows, tokens } = calibrationWindows(tok, s.calibPath, model, calib);
  const ids = limitWindows(evalIds(tok, s.evalPath, model, seqlen), seqlen, num(v, 'max-windows'));
  const nWin = Math.floor(ids.length / seqlen);

  log(io, `sweeping ${dir}: ${cases.length} runs (${mode}, ${windows.length} calibration windows of ${seqlen} tokens)`);
  const evalBar = new Progress(io, 'eval dense', nWin);
  const dense = perplexity(model, ids, { seqlen, onProgress: (d) => evalBar.update(d) });
  evalBar.finish();
  const zs = (label: string) => (s.zeroshot ? quietZeroshot(model, tok, s.zeroshot.tasks, io, label) : null);
  const zsDense = zs('zeroshot dense');
  const snapshot = snapshotLinears(model);
  let stats: DenseStats | null = null;
  if (mode === 'dense-stats') {
    const bar = new Progress(io, 'statistics', model.numBlocks);
    stats = collectDenseStats(model, windows, {
      hessian: cases.some((c) => methodNeeds(c.method).hessian),
      onProgress: (e) => bar.update(e.block, `block ${e.block}`),
    });
    bar.update(model.numBlocks);
    bar.finish();
  }
  const rows: SweepRow[] = [];
  const bar = new Progress(io, 'sweep', cases.length);
  for (const c of cases) {
    const tc = performance.now();
    restoreLinears(model, snapshot);
    const opts = {
      method: c.method,
      sparsity: c.sparsity,
      pattern: c.pattern,
      group: s.group,
      biasCorrection: s.biasCorrection,
      seed: s.seed,
      owl: s.owl && c.pattern === 'unstructured',
    };
    const report: PruneReport = stats ? applyPruning(model, stats, opts) : pruneModel(model, windows, opts);
    const errors = report.layers.some((l) => l.mse === null) ? layerErrors(model, snapshot, windows) : null;
    const r = perplexity(model, ids, { seqlen });
    const z = zs(`zeroshot ${c.method}`);
    rows.push({
      ...(z ? { zeroshot: { mean_acc: z.mean_acc, tasks: z.tasks } } : {}),
      method: c.method,
      pattern: patternName(c.pattern),
      sparsity: c.sparsity,
      ppl: r.ppl,
      seconds: since(tc),
      layers: report.layers.map((l) => {
        const e = errors?.get(l.name);
        return { name: l.name, zeros: l.zeros, mse: e ? e.mse : l.mse, cosine: e ? e.cosine : l.cosine };
      }),
    });
    bar.update(rows.length, `${c.method} ${patternName(c.pattern)} ${fmtPct(c.sparsity)}: ${fmtPpl(r.ppl)}`);
  }
  bar.finish();
  restoreLinears(model, snapshot);
  ckpt.close();
  return {
    model: dir,
    mode,
    group: s.group,
    owl: s.owl,
    biasCorrection: s.biasCorrection,
    calibration: { source: s.calibPath, ...calib, tokens },
    eval: { data: s.evalPath, windows: dense.windows, seqlen },
    dense: dense.ppl,
    ...(zsDense && s.zeroshot
      ? { zeroshot: { data: s.zeroshot.data, mean_acc: zsDense.mean_acc, tasks: zsDense.tasks } }
      : {}),
    rows,
    seconds: since(t0),
  };
}

/** The sweep's perplexity table: one row per method, one column per pattern/sparsity. */
export function sweepText(r: SweepResult): string {
  const cols: { key: string; label: string }[] = [];
  for (const x of r.rows) {
    const key = `${x.pattern}@${x.sparsity}`;
    if (!cols.some((c) => c.key === key))
      cols.push({ key, label: x.pattern === 'unstructured' ? fmtPct(x.sparsity) : x.pattern });
  }
  const methods = [...new Set(r.rows.map((x) => x.method))];
  const table = renderTable(
    [{ header: 'method' }, ...cols.map((c) => ({ header: c.label, align: 'right' as const }))],
    methods.map((m) => [
      m,
      ...cols.map((c) => fmtPpl(r.rows.find((x) => x.method === m && `${x.pattern}@${x.sparsity}` === c.key)?.ppl)),
    ]),
  );
  const zsTable = r.zeroshot
    ? [
        `zero-shot mean acc on ${r.zeroshot.data}; dense ${r.zeroshot.mean_acc.toFixed(4)}`,
        '',
        renderTable(
          [{ header: 'method' }, ...cols.map((c) => ({ header: c.label, align: 'right' as const }))],
          methods.map((m) => [
            m,
            ...cols.map(
              (c) =>
                r.rows
                  .find((x) => x.method === m && `${x.pattern}@${x.sparsity}` === c.key)
                  ?.zeroshot?.mean_acc.toFixed(4) ?? '-',
            ),
          ]),
        ),
        '',
      ]
    : [];
  return [
    `perplexity of ${r.model} on ${r.eval.data} (${r.eval.windows} windows of ${r.eval.seqlen} tokens); dense ${fmtPpl(r.dense)}`,
    '',
    table,
    '',
    ...zsTable,
    `${r.rows.length} runs in ${r.seconds.toFixed(1)} s (${r.mode}, ${r.calibration.nsamples} calibration windows)`,
    '',
  ].join('\n');
}
