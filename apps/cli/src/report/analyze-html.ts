import type { AnalyzeReport } from '@stade/prune';
import type { AnalyzeRun } from '../commands/analyze.js';
import { htmlTable, page } from './html.js';
import { esc, linePlot, type Series } from './svg.js';
import { fmtPct, fmtSci } from './table.js';

const short = (name: string): string =>
  name.replace(/^model\.(decoder\.)?layers\./, '').replace(/self_attn\.|mlp\./, '');

/** A cross term, or '-' when they were skipped (`--no-cross`). */
const fmtCross = (v: number): string => (Number.isFinite(v) ? fmtSci(v) : '-');

/** Closed-form error of a mask: the independence part plus the cross terms when they were computed. */
export const predTotal = (p: { diag: number; cross: number }): number =>
  p.diag + (Number.isFinite(p.cross) ? p.cross : 0);

/** The figures of one layer as table cells: noncentred .. measured stade (shared with the terminal table). */
export function layerCells(l: AnalyzeReport['layers'][number]): string[] {
  return [
    l.noncentred.toFixed(4),
    fmtPct(l.outlierShare),
    fmtSci(l.meanNorm),
    fmtSci(l.predicted.wanda.diag),
    fmtSci(l.predicted.stade.diag),
    fmtCross(l.predicted.wanda.cross),
    fmtCross(l.predicted.stade.cross),
    l.measured ? fmtSci(l.measured.wanda) : '-',
    l.measured ? fmtSci(l.measured.stade) : '-',
  ];
}

/** The summary across layers: where the prediction and the measurement agree, cross-term reversals, block effects. */
export function summaryLines(r: AnalyzeReport): string[] {
  const s = r.summary;
  const n = (name: string) => name.replace(/^model\.(decoder\.)?/, '');
  const lines = [
    `Theory vs measurement: ${s.agree.length} of ${s.agree.length + s.disagree.length} layers ordered as predicted${s.disagree.length ? ` (not: ${s.disagree.map(n).join(', ')})` : ''}.`,
  ];
  if (s.crossReverses.length)
    lines.push(`Cross terms reverse the independence ordering in: ${s.crossReverses.map(n).join(', ')}.`);
  if (s.blockEffects.length)
    lines.push(
      `Block-level effect in block ${s.blockEffects.join(', ')}: stade lowers most layers' own errors there but raises the block output's error relative to token norms.`,
    );
  return lines;
}

const byLayer = (r: AnalyzeReport, f: (l: AnalyzeReport['layers'][number]) => number | null): Series['points'] =>
  r.layers.map((l, i) => [i, f(l) ?? Number.NaN] as const);

/** The SVG plots of one analysis: non-centredness, predicted vs measured errors, their ratio, and the blocks. */
export function analyzePlots(r: AnalyzeReport, title: string): string[] {
  const names = r.layers.map((l) => short(l.name));
  const opts = { xLabel: 'layer', xTickLabels: names, width: 900, height: 380 };
  const plots = [
    linePlot({
      ...opts,
      title: `Input non-centredness and outlier share — ${title}`,
      yLabel: 'fraction',
      series: [
        { name: 'mean²/E[x²]', points: byLayer(r, (l) => l.noncentred) },
        { name: 'outlier share', points: byLayer(r, (l) => l.outlierShare) },
      ],
    }),
    linePlot({
      ...opts,
      title: `Output error, predicted vs measured — ${title}`,
      yLabel: 'MSE',
      logY: true,
      series: [
        { name: 'wanda predicted', points: byLayer(r, (l) => l.predicted.wanda.diag) },
        { name: 'stade predicted', points: byLayer(r, (l) => l.predicted.stade.diag) },
        { name: 'wanda measured', points: byLayer(r, (l) => l.measured?.wanda ?? null) },
        { name: 'stade measured', points: byLayer(r, (l) => l.measured?.stade ?? null) },
      ],
    }),
    linePlot({
      ...opts,
      title: `STADE's error over Wanda's — ${title}`,
      yLabel: 'stade / wanda',
      series: [
        { name: 'independence', points: byLayer(r, (l) => l.predicted.stade.diag / l.predicted.wanda.diag) },
        {
          name: 'with cross terms',
          points: byLayer(r, (l) =>
            Number.isFinite(l.predicted.stade.cross)
              ? (l.predicted.stade.diag + l.predicted.stade.cross) / (l.predicted.wanda.diag + l.predicted.wanda.cross)
              : null,
          ),
        },
        { name: 'measured', points: byLayer(r, (l) => (l.measured ? l.measured.stade / l.measured.wanda : null)) },
      ],
    }),
  ];
  if (r.blocks.length) {
    plots.push(
      linePlot({
        title: `Block output error relative to token norms — ${title}`,
        xLabel: 'block',
        yLabel: 'mean ||Δ||²/||h||²',
        logY: true,
        xTickLabels: r.blocks.map((b) => String(b.index)),
        series: (['wanda', 'stade', 'stadew'] as const).map((m) => ({
          name: m,
          points: r.blocks.map((b, i) => [i, b.relative[m]] as const),
        })),
      }),
    );
  }
  return plots;
}

/** The HTML report of `stade analyze`. */
export function analyzeHtml(run: AnalyzeRun): string {
  const r = run.report;
  const label = r.pattern === 'unstructured' ? `unstructured ${fmtPct(r.sparsity)}` : r.pattern;
  const body = [
    `<p>Model <code>${esc(run.model)}</code>, ${esc(label)}, group ${esc(r.group)}. Statistics from ${run.nsamples} windows of ${run.seqlen} tokens of <code>${esc(run.calib)}</code> (${esc(run.sampling)}, seed ${run.seed}); errors measured on ${run.heldout} held-out windows of the same text.</p>`,
    `<p><b>Recommendation: ${esc(r.recommend)}</b> — ${esc(r.reason)}</p>`,
    ...summaryLines(r).map((l) => `<p>${esc(l)}</p>`),
    ...analyzePlots(r, label).map((svg) => `<figure>${svg}</figure>`),
    '<h2>Layers</h2>',
    htmlTable(
      [
        'layer',
        'noncentred',
        'outliers',
        '|mean|',
        'pred wanda',
        'pred stade',
        'cross w',
        'cross s',
        'meas wanda',
        'meas stade',
        'use',
        'reason',
      ],
      r.layers.map((l) => [l.name, ...layerCells(l), l.recommend, l.reason]),
    ),
  ];
  if (r.blocks.length) {
    body.push(
      '<h2>Blocks</h2>',
      htmlTable(
        ['block', 'wanda', 'stade', 'stadew', 'MSE wanda', 'MSE stade', 'MSE stadew'],
        r.blocks.map((b) => [
          String(b.index),
          fmtSci(b.relative.wanda),
          fmtSci(b.relative.stade),
          fmtSci(b.relative.stadew),
          fmtSci(b.mse.wanda),
          fmtSci(b.mse.stade),
          fmtSci(b.mse.stadew),
        ]),
      ),
    );
  }
  return page(`stade analyze — ${label}`, body);
}
