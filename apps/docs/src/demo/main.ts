/**
 * The demo page's main thread: the form, the progress bar and the results. All computation happens in the
 * pipeline worker (pipeline.ts).
 */
import { layerErrorChart } from './chart.js';
import type { DemoResult, DemoSettings, RunRequest, WorkerMessage } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: missing #${id}`);
  return el as T;
};

function readSettings(): DemoSettings {
  const v = (id: string) => $<HTMLInputElement | HTMLSelectElement>(id).value;
  return {
    model: v('model'),
    method: v('method'),
    sparsity: Number(v('sparsity')),
    pattern: v('pattern'),
    nsamples: Number(v('nsamples')),
    seqlen: Number(v('seqlen')),
    sampling: v('sampling') as DemoSettings['sampling'],
    seed: Number(v('seed')),
    maxWindows: Number(v('max-windows')),
    zeroshotDocs: Number(v('zeroshot-docs')),
  };
}

const fmt = (x: number) => (x >= 1000 ? x.toFixed(0) : x.toPrecision(5));

function showResult(r: DemoResult): void {
  const out = $('result');
  out.dataset.dense = String(r.dense);
  out.dataset.pruned = String(r.pruned);
  out.dataset.platform = String(r.pool.platform);
  out.dataset.parallelCalls = String(r.pool.parallelCalls);
  out.dataset.threads = String(r.threads);
  out.dataset.seconds = JSON.stringify(r.seconds);
  out.dataset.zeroshot = JSON.stringify(r.zeroshot);
  const z = r.zeroshot;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const zsRows = z
    ? `<tr><th>${z.task} accuracy (${z.n} documents), dense</th><td id="zs-dense">${pct(z.dense.acc)}</td></tr>
      <tr><th>${z.task} accuracy, pruned</th><td id="zs-pruned">${pct(z.pruned.acc)}</td></tr>`
    : '';
  const total = r.seconds.load + r.seconds.dense + r.seconds.prune + r.seconds.pruned;
  out.innerHTML = `
    <table class="ppl">
      <tr><th>perplexity, dense</th><td id="ppl-dense">${fmt(r.dense)}</td></tr>
      <tr><th>perplexity, pruned</th><td id="ppl-pruned">${fmt(r.pruned)}</td></tr>
      ${zsRows}
      <tr><th>zeros in pruned layers</th><td>${(100 * r.zeros).toFixed(2)}%</td></tr>
    </table>
    <p class="note">${r.model} (${r.modelType}), ${r.method} ${r.pattern === 'unstructured' ? `${(100 * r.sparsity).toFixed(0)}% unstructured` : r.pattern},
    ${r.calibrationWindows} calibration windows, perplexity over ${r.evalWindows} windows of ${r.seqlen} tokens.
    ${total.toFixed(1)} s in total (pruning ${r.seconds.prune.toFixed(1)} s) on ${r.threads} thread(s);
    worker pool: ${r.pool.platform ?? 'none (single thread)'}${r.crossOriginIsolated ? '' : ' — page not cross-origin isolated'}.</p>
    <h3>Output error per layer</h3>
    ${layerErrorChart(r.layers)}`;
  out.dataset.status = 'done';
}

function syncPattern(): void {
  const nm = /^(\d+):(\d+)$/.exec($<HTMLSelectElement>('pattern').value);
  const sp = $<HTMLInputElement>('sparsity');
  sp.disabled = nm !== null;
  if (nm) sp.value = String(Number(nm[1]) / Number(nm[2]));
}

/** The pipeline worker, started on the first run (so merely opening the page downloads no worker code). */
function startWorker(): Worker {
  const worker = new Worker(new URL('./pipeline.ts', import.meta.url), { type: 'module', name: 'stade-demo' });
  const bar = $<HTMLProgressElement>('progress');
  const label = $('progress-label');
  const out = $('result');
  const button = $<HTMLButtonElement>('run');
  worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
    const m = ev.data;
    if (m.kind === 'progress') {
      bar.value = m.fraction;
      label.textContent = `${m.label} (${Math.round(100 * m.fraction)}%)`;
    } else if (m.kind === 'result') {
      showResult(m.result);
      button.disabled = false;
    } else {
      out.dataset.status = 'error';
      out.textContent = `Error: ${m.message}`;
      button.disabled = false;
    }
  };
  worker.onerror = (e) => {
    out.dataset.status = 'error';
    out.textContent = `Error: the demo worker failed (${e.message})`;
    button.disabled = false;
  };
  return worker;
}

function start(): void {
  let worker: Worker | null = null;
  const out = $('result');
  const button = $<HTMLButtonElement>('run');
  $<HTMLSelectElement>('pattern').addEventListener('change', syncPattern);
  syncPattern();
  $('demo-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    out.dataset.status = 'running';
    out.textContent = '';
    const base = new URL('./demo-data/', document.baseURI).href;
    const req: RunRequest = { kind: 'run', base, settings: readSettings() };
    worker ??= startWorker();
    worker.postMessage(req);
  });
  $('isolation').textContent = crossOriginIsolated
    ? `cross-origin isolated: the pruning uses up to ${navigator.hardwareConcurrency} threads`
    : 'not cross-origin isolated: the pruning runs on one thread';
}

start();
