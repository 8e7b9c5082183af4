import { type AnalyzeReport, analyzeModel } from '@stade/prune';
import { bool, num, str, type Values } from '../args.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { embedded } from '../paths.js';
import { parsePattern, patternName, resolveSparsity } from '../recipe.js';
import { analyzeHtml, layerCells, predTotal, summaryLines } from '../report/analyze-html.js';
import { writeFileAtomic } from '../report/html.js';
import { log } from '../report/progress.js';
import { fmtPct, fmtSci, renderTable } from '../report/table.js';
import { loadTokenizer } from '../text.js';
import { calibOptions, calibrationWindows, openModel, resolveModelDir, resolveSeqlen, since } from './common.js';
import { checkReportPath, driverProgress } from './prune.js';

/** `stade analyze --json`: exactly this object (names are Hugging Face module names). */
export interface AnalyzeJson {
  layers: {
    name: string;
    noncentred: number;
    outlierShare: number;
    /** Closed forms: wanda sum W^2 E[x^2], stade sum W^2 Var(x), each over its own pruned set (per output and token). */
    predicted: { wanda: number; stade: number };
    /** Output MSE on the held-out windows (null with --heldout 0). */
    measured: { wanda: number; stade: number } | null;
    recommend: 'wanda' | 'stade';
  }[];
  recommend: 'wanda' | 'stade' | 'stadew';
}

/** What the command ran on, for the text and HTML reports. */
export interface AnalyzeRun {
  model: string;
  calib: string;
  nsamples: number;
  heldout: number;
  seqlen: number;
  sampling: string;
  seed: number;
  seconds: number;
  report: AnalyzeReport;
}

/** The `--json` object of a report. */
export function analyzeJson(r: AnalyzeReport): AnalyzeJson {
  return {
    layers: r.layers.map((l) => ({
      name: l.name,
      noncentred: l.noncentred,
      outlierShare: l.outlierShare,
      predicted: { wanda: l.predicted.wanda.diag, stade: l.predicted.stade.diag },
      measured: l.measured ? { wanda: l.measured.wanda, stade: l.measured.stade } : null,
      recommend: l.recommend,
    })),
    recommend: r.recommend,
  };
}

/** `stade analyze`: the paper's per-layer theory, measured on the model before pruning. */
export async function analyzeCommand(v: Values, io: Io): Promise<AnalyzeRun> {
  const t0 = performance.now();
  const pattern = parsePattern(str(v, 'pattern') ?? 'unstructured');
  const given = num(v, 'sparsity');
  const sparsity = resolveSparsity(pattern, pattern === 'unstructured' ? (given ?? 0.5) : given);
  const html = str(v, 'html');
  checkReportPath(html);
  const heldout = num(v, 'heldout')!;
  const dir = resolveModelDir(v);
  const calibPath = str(v, 'calib') ?? embedded.calib();
  const { ckpt, model } = openModel(dir);
  try {
    const seqlen = resolveSeqlen(v, model, dir);
    const tok = loadTokenizer(dir);
    const calib = calibOptions(v, seqlen);
    // The first nsamples windows give the statistics (the same ones a sweep with this seed uses); the next
    // --heldout windows of the same sampler are only measured on.
    const { windows } = calibrationWindows(tok, calibPath, model, { ...calib, nsamples: calib.nsamples + heldout });
    if (windows.length !== calib.nsamples + heldout)
      throw new CliError(`${calibPath}: expected ${calib.nsamples + heldout} windows, got ${windows.length}`);
    log(
      io,
      `analyzing ${dir}: ${patternName(pattern)} ${fmtPct(sparsity)}, ${calib.nsamples} calibration + ${heldout} held-out windows of ${seqlen} tokens`,
    );
    const progress = driverProgress(io, 'analyze', model.numBlocks);
    const report = analyzeModel(model, windows.slice(0, calib.nsamples), windows.slice(calib.nsamples), {
      sparsity,
      pattern: patternName(pattern),
      group: str(v, 'group') as 'row' | 'layer',
      cross: !bool(v, 'no-cross'),
      onProgress: progress.onProgress,
    });
    progress.finish();
    const run: AnalyzeRun = {
      model: dir,
      calib: calibPath,
      nsamples: calib.nsamples,
      heldout,
      seqlen,
      sampling: calib.sampling,
      seed: calib.seed,
      seconds: since(t0),
      report,
    };
    if (html) writeFileAtomic(io, html, analyzeHtml(run));
    io.out(bool(v, 'json') ? `${JSON.stringify(analyzeJson(report))}\n` : analyzeText(run));
    return run;
  } finally {
    ckpt.close();
  }
}

const short = (name: string): string => name.replace(/^model\.(decoder\.)?/, '');
const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a / b) ? (a / b).toFixed(3) : '-');

/** The terminal report: per-layer table, per-block table, summary and recommendation. */
export function analyzeText(run: AnalyzeRun): string {
  const r = run.report;
  const layerTable = renderTable(
    [
      { header: 'layer' },
      { header: 'noncentred', align: 'right' },
      { header: 'outliers', align: 'right' },
      { header: '|mean|', align: 'right' },
      { header: 'pred wanda', align: 'right' },
      { header: 'pred stade', align: 'right' },
      { header: 'cross w', align: 'right' },
      { header: 'cross s', align: 'right' },
      { header: 'meas wanda', align: 'right' },
      { header: 'meas stade', align: 'right' },
      { header: 's/w pred', align: 'right' },
      { header: 's/w meas', align: 'right' },
      { header: 'use' },
    ],
    r.layers.map((l) => [
      short(l.name),
      ...layerCells(l),
      ratio(predTotal(l.predicted.stade), predTotal(l.predicted.wanda)),
      l.measured ? ratio(l.measured.stade, l.measured.wanda) : '-',
      l.recommend,
    ]),
  );
  const lines = [
    `analysis of ${run.model}: ${r.pattern === 'unstructured' ? `unstructured ${fmtPct(r.sparsity)}` : r.pattern} (group ${r.group}); statistics from ${run.nsamples} windows of ${run.seqlen} tokens of ${run.calib} (${run.sampling}, seed ${run.seed}), measured on ${run.heldout} held-out windows`,
    '',
    'Per layer (errors: mean squared output error per output and token; pred = closed form over the method',
    "pruned set, cross = the cross terms it drops; s/w = stade's error over wanda's, pred with cross terms unless --no-cross):",
    '',
    layerTable,
    '',
  ];
  if (r.blocks.length) {
    lines.push(
      'Per block, every layer pruned, on the dense inputs: output error relative to each token norm',
      '',
      renderTable(
        [
          { header: 'block' },
          { header: 'wanda', align: 'right' },
          { header: 'stade', align: 'right' },
          { header: 'stadew', align: 'right' },
        ],
        r.blocks.map((b) => [
          String(b.index),
          fmtSci(b.relative.wanda),
          fmtSci(b.relative.stade),
          fmtSci(b.relative.stadew),
        ]),
      ),
      '',
    );
  }
  lines.push(...summaryLines(r));
  lines.push('', 'Per-layer reasons:', ...r.layers.map((l) => `  ${short(l.name)}: ${l.reason}`), '');
  lines.push(`Recommendation: ${r.recommend} — ${r.reason}`, `(${run.seconds.toFixed(1)} s)`, '');
  return lines.join('\n');
}
