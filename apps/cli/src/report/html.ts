import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Io } from '../io.js';
import { tempPrefix } from '../temp.js';
import { esc, linePlot, type Series } from './svg.js';
import { fmtPct, fmtPpl, fmtSci } from './table.js';
import type { LayerResult, PruneResult, SweepResult } from './types.js';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}code{background:#f3f3f3;padding:0 3px}
figure{margin:1.5em 0}`;

export function page(title: string, body: string[]): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head>\n<body>\n<h1>${esc(title)}</h1>\n${body.join('\n')}\n</body></html>\n`;
}

export function htmlTable(headers: string[], rows: string[][]): string {
  const th = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

function short(name: string): string {
  return name.replace(/^model\.(decoder\.)?layers\./, '').replace(/self_attn\.|mlp\./, '');
}

function layerPlots(series: { name: string; layers: LayerResult[] }[], title: string): string {
  const names = series[0]?.layers.map((l) => short(l.name)) ?? [];
  const mse: Series[] = series.map((s) => ({
    name: s.name,
    points: s.layers.map((l, i) => [i, l.mse ?? Number.NaN] as const),
  }));
  const cos: Series[] = series.map((s) => ({
    name: s.name,
    points: s.layers.map((l, i) => [i, l.cosine ?? Number.NaN] as const),
  }));
  return [
    `<figure>${linePlot({ title: `Per-layer output error — ${title}`, xLabel: 'layer', yLabel: 'MSE', series: mse, logY: true, xTickLabels: names, width: 900, height: 380 })}</figure>`,
    `<figure>${linePlot({ title: `Per-layer cosine similarity — ${title}`, xLabel: 'layer', yLabel: 'cosine', series: cos, xTickLabels: names, width: 900, height: 380 })}</figure>`,
  ].join('\n');
}

/** The HTML report of one prune run. */
export function pruneHtml(r: PruneResult): string {
  const recipe = [
    ['model', r.model],
    ['output', r.out],
    ['method', r.method],
    ['sparsity', String(r.sparsity)],
    ['pattern', r.pattern],
    ['group', r.group],
    ['OWL', String(r.owl)],
    ['bias correction', String(r.biasCorrection)],
    [
      'calibration',
      `${r.calibration.source} (${r.calibration.nsamples} x ${r.calibration.seqlen}, ${r.calibration.sampling}, seed ${r.calibration.seed})`,
    ],
    ['seconds', r.seconds.toFixed(1)],
  ];
  if (r.ppl)
    recipe.push(['perplexity dense → pruned', `${fmtPpl(r.ppl.dense)} → ${fmtPpl(r.ppl.pruned)} (${r.ppl.data})`]);
  return page(`stade prune — ${r.method} ${r.pattern === 'unstructured' ? fmtPct(r.sparsity) : r.pattern}`, [
    htmlTable(['', 'value'], recipe),
    layerPlots([{ name: r.method, layers: r.layers }], r.method),
    '<h2>Blocks (dense vs pruned block outputs)</h2>',
    htmlTable(
      ['block', 'zeros', 'MSE', 'cosine', 'seconds'],
      r.blocks.map((b) => [
        String(b.index),
        fmtPct(b.zeros),
        b.mse === null ? '-' : fmtSci(b.mse),
        b.cosine === null ? '-' : b.cosine.toFixed(5),
        b.seconds.toFixed(2),
      ]),
    ),
    '<h2>Layers</h2>',
    htmlTable(
      ['layer', 'zeros', 'MSE', 'cosine'],
      r.layers.map((l) => [
        l.name,
        fmtPct(l.zeros),
        l.mse === null ? '-' : fmtSci(l.mse),
        l.cosine === null ? '-' : l.cosine.toFixed(5),
      ]),
    ),
  ]);
}

/** The sections of one model's sweep. */
function sweepSection(r: SweepResult): string[] {
  const methods = [...new Set(r.rows.map((x) => x.method))];
  const unstructured: Series[] = methods.map((m) => ({
    name: m,
    points: r.rows
      .filter((x) => x.method === m && x.pattern === 'unstructured')
      .sort((a, b) => a.sparsity - b.sparsity)
      .map((x) => [x.sparsity, x.ppl] as const),
  }));
  const body = [
    `<h2>${esc(r.model)}</h2>`,
    `<p>Model <code>${esc(r.model)}</code>; dense perplexity <b>${fmtPpl(r.dense)}</b> on <code>${esc(r.eval.data)}</code> (${r.eval.windows} windows of ${r.eval.seqlen} tokens). Calibration: <code>${esc(r.calibration.source)}</code>, ${r.calibration.nsamples} x ${r.calibration.seqlen} tokens, ${esc(r.calibration.sampling)}, seed ${r.calibration.seed}; statistics mode ${esc(r.mode)}, group ${esc(r.group)}${r.owl ? ', OWL' : ''}.</p>`,
    `<figure>${linePlot({ title: 'Perplexity vs sparsity (unstructured)', xLabel: 'sparsity', yLabel: 'perplexity', series: unstructured.filter((s) => s.points.length > 0), logY: true })}</figure>`,
    htmlTable(
      ['method', 'pattern', 'sparsity', 'perplexity', 'seconds'],
      r.rows.map((x) => [x.method, x.pattern, fmtPct(x.sparsity), fmtPpl(x.ppl), x.seconds.toFixed(1)]),
    ),
  ];
  const patterns = [...new Set(r.rows.map((x) => `${x.pattern}@${x.sparsity}`))];
  for (const p of patterns) {
    const rows = r.rows.filter((x) => `${x.pattern}@${x.sparsity}` === p && x.layers.some((l) => l.mse !== null));
    if (rows.length === 0) continue;
    const label = rows[0]!.pattern === 'unstructured' ? `unstructured ${fmtPct(rows[0]!.sparsity)}` : rows[0]!.pattern;
    body.push(
      `<h3>${esc(r.model)}: ${esc(label)}</h3>`,
      layerPlots(
        rows.map((x) => ({ name: x.method, layers: x.layers })),
        label,
      ),
    );
  }
  return body;
}

/** The HTML report of a sweep over one or more models. */
export function sweepHtml(sweeps: readonly SweepResult[]): string {
  return page('stade sweep', sweeps.flatMap(sweepSection));
}

/** Writes a file atomically (temp file beside it, then rename); removes the temp file on failure. */
export function writeFileAtomic(io: Io, path: string, content: string): void {
  const tmp = join(dirname(path), tempPrefix(path));
  io.tempCreated(tmp);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    io.tempDone(tmp);
  }
}
