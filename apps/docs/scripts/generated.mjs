// @ts-check
/**
 * Pages generated from project data rather than written by hand: the CLI reference (from the CLI's own
 * command spec, so it cannot drift), the benchmark figures (from docs/bench.json) and the demo page.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The CLI reference, from `@stade/cli/spec` (the definitions that drive parsing and --help). */
export async function cliReference() {
  let spec;
  try {
    spec = await import('@stade/cli/spec');
  } catch (e) {
    throw new Error(
      `cannot load @stade/cli/spec (build the workspace first: npm run build): ${e instanceof Error ? e.message : e}`,
    );
  }
  const intro = [
    '',
    "Generated from the same command definitions that drive `stade`'s argument parsing and `--help`",
    '(`apps/cli/src/commands/spec.ts`, exported as `@stade/cli/spec`), so this page cannot drift from the tool.',
    '',
  ].join('\n');
  const md = spec.markdownReference();
  const nl = md.indexOf('\n');
  return `${md.slice(0, nl)}\n${intro}${md.slice(nl)}`;
}

const cell = (/** @type {unknown} */ v) =>
  String(
    typeof v === 'number'
      ? Number.isInteger(v)
        ? v
        : Number(v.toPrecision(4))
      : typeof v === 'object' && v !== null
        ? JSON.stringify(v)
        : (v ?? ''),
  )
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

/** Markdown for any JSON value: scalars as a list, arrays of objects as tables, nested objects as sections. */
function jsonToMarkdown(/** @type {unknown} */ value, depth = 2) {
  /** @type {string[]} */
  const out = [];
  if (Array.isArray(value)) {
    if (value.length && value.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
      const cols = [...new Set(value.flatMap((r) => Object.keys(r)))];
      out.push(`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`);
      for (const r of value) out.push(`| ${cols.map((c) => cell(r[c])).join(' | ')} |`);
    } else out.push(value.map((v) => `- ${cell(v)}`).join('\n'));
    out.push('');
    return out;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const scalars = entries.filter(([, v]) => v === null || typeof v !== 'object');
    for (const [k, v] of scalars) out.push(`- **${k}**: ${cell(v)}`);
    if (scalars.length) out.push('');
    for (const [k, v] of entries) {
      if (v === null || typeof v !== 'object') continue;
      out.push(`${'#'.repeat(Math.min(depth, 6))} ${k}`, '', ...jsonToMarkdown(v, depth + 1));
    }
    return out;
  }
  out.push(cell(value), '');
  return out;
}

/** The benchmark page from `file` (docs/bench.json), or a note when the figures are not committed yet. */
export function benchmarks(/** @type {string} */ file) {
  const head = ['# Benchmarks', ''];
  if (!existsSync(file)) {
    return [
      ...head,
      '> No benchmark figures are committed yet (`docs/bench.json` is missing), so none are shown here.',
      '> They are produced with `npm run bench` and recorded together with the machine and date they were',
      '> measured on.',
      '',
    ].join('\n');
  }
  const data = JSON.parse(readFileSync(file, 'utf8'));
  const machine = data.machine ?? data.host ?? null;
  const date = data.date ?? data.measured ?? null;
  return [
    ...head,
    `Figures from \`docs/bench.json\`${date ? `, measured on ${cell(date)}` : ''}${machine ? ` on ${cell(typeof machine === 'string' ? machine : JSON.stringify(machine))}` : ''}.`,
    'Timings depend on the machine, the thread count and the runtime; re-run `npm run bench` to measure yours.',
    '',
    ...jsonToMarkdown(data),
  ].join('\n');
}

const METHOD_OPTIONS = [
  'magnitude',
  'random',
  'wanda',
  'stade',
  'stade-star',
  'stadew',
  'sparsegpt',
  'sparsegpt-noupdate',
];

/** The demo page's body (the script is added by the layout); the first model is the default. */
export function demoBody(/** @type {{ name: string, summary: string, maxSeqlen: number }[]} */ models) {
  const opt = (/** @type {string} */ v, /** @type {string} */ sel) =>
    `<option value="${v}"${v === sel ? ' selected' : ''}>${v}</option>`;
  const maxSeqlen = Math.min(...models.map((m) => m.maxSeqlen));
  const seqlen = Math.min(64, maxSeqlen);
  const list = models.map((m) => `<li><code>${m.name}</code>: ${m.summary}</li>`).join('');
  return `<h1 id="live-demo">Live demo</h1>
<p>This page prunes one of stade's embedded models in your browser: calibration, pruning and perplexity run in a
Web Worker with the same packages the <code>stade</code> command uses, on model files and texts this site serves
as static files (<code>models/text/calibration.txt</code> and <code>eval.txt</code>). Nothing is sent to a server.
The result equals <code>stade prune --model models/NAME --eval models/text/eval.txt --max-windows N</code> with the
same settings; the zero-shot accuracy (before and after pruning, on the embedded last-word task that
<code>stade zeroshot</code> runs without <code>--data</code>) equals <code>stade zeroshot --model models/NAME --limit N</code>
on the dense and the pruned model.</p>
<ul>${list}</ul>
<p class="note" id="isolation">checking cross-origin isolation…</p>
<form id="demo-form" class="demo">
  <label>model <select id="model">${models.map((m, i) => `<option value="${m.name}"${i === 0 ? ' selected' : ''}>${m.name}</option>`).join('')}</select></label>
  <label>method <select id="method">${METHOD_OPTIONS.map((m) => opt(m, 'stade')).join('')}</select></label>
  <label>pattern <select id="pattern">${['unstructured', '2:4', '4:8'].map((p) => opt(p, 'unstructured')).join('')}</select></label>
  <label>sparsity <input id="sparsity" type="number" min="0" max="0.99" step="0.05" value="0.5"></label>
  <label>calibration windows <input id="nsamples" type="number" min="1" max="256" value="8"></label>
  <label>window length <input id="seqlen" type="number" min="2" max="${maxSeqlen}" value="${seqlen}"></label>
  <label>sampling <select id="sampling">${opt('contiguous', 'contiguous')}${opt('random', 'contiguous')}</select></label>
  <label>seed <input id="seed" type="number" min="0" value="0"></label>
  <label>evaluation windows (0 = all) <input id="max-windows" type="number" min="0" value="32"></label>
  <label>zero-shot documents (0 = none) <input id="zeroshot-docs" type="number" min="0" max="120" value="40"></label>
  <button id="run" type="submit">Prune</button>
</form>
<div class="progress"><progress id="progress" max="1" value="0"></progress> <span id="progress-label">idle</span></div>
<div id="result" data-status="idle"></div>
<h2 id="what-happens">What happens</h2>
<ol>
<li>The worker downloads <code>config.json</code>, <code>model.safetensors</code> and the tokenizer files, and
builds the model with <code>SafetensorsBuffer</code> + <code>modelFromSource</code> (no file system needed).</li>
<li>It tokenises the calibration text and cuts the windows (<a href="methods/stade.html">STADE</a> and
<a href="methods/wanda.html">Wanda</a> need only column statistics; <a href="methods/sparsegpt.html">SparseGPT</a> a Hessian).</li>
<li>It measures the dense perplexity, prunes block by block (<a href="architecture.html">the sequential driver</a>)
and measures the pruned perplexity on the same evaluation windows.</li>
<li>Before and after pruning it scores the embedded last-word task (a sentence of <code>eval.txt</code> without its
last word; the true word against three others) with <code>@stade/eval</code>'s <code>evaluateTask</code>, the
<a href="zeroshot.html">zero-shot</a> scoring of <code>stade zeroshot</code>.</li>
</ol>
<p>On a cross-origin-isolated page the tensor kernels run on a pool of Web Workers sharing memory; otherwise on
one thread, with bit-identical results.</p>`;
}
