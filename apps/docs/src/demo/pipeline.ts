/**
 * The demo's pipeline worker: everything heavy runs here, off the main thread (the tensor pool's caller
 * blocks in Atomics.wait, which browsers allow only on worker threads). It fetches the model and texts as
 * static files, then does exactly what `stade prune --eval` does: tokenise, cut calibration windows, measure
 * dense perplexity, prune block by block, measure pruned perplexity; before and after pruning it also scores the
 * embedded last-word task with @stade/eval, as `stade zeroshot` without --data does.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { buildDocs, evaluateTask, getTask, lastWordRecords, type TaskDoc } from '@stade/eval';
import { contiguousWindows, parsePattern, pruneModel, randomWindows, resolveSparsity } from '@stade/prune';
import { getThreads, poolInfo, warmPool } from '@stade/tensor';
import type { CausalLM } from '@stade/transformer';
import { modelFromSource, perplexity, SafetensorsBuffer } from '@stade/transformer';
import type { DemoResult, RunRequest, WorkerMessage, ZeroshotShown } from './protocol.js';

const post = (m: WorkerMessage) => (self as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot load ${url}: HTTP ${r.status}`);
  return r;
}

const json = async (url: string) => (await (await fetchOk(url)).json()) as Record<string, unknown>;
const text = async (url: string) => (await fetchOk(url)).text();
const bytes = async (url: string) => new Uint8Array(await (await fetchOk(url)).arrayBuffer());

function checkVocab(ids: Int32Array, vocab: number, what: string): Int32Array {
  for (const id of ids)
    if (id < 0 || id >= vocab) throw new Error(`token id ${id} from ${what} is outside the vocabulary (${vocab})`);
  return ids;
}

const since = (t0: number) => (performance.now() - t0) / 1000;

/** The embedded last-word task, as `stade zeroshot` without --data builds it (120 documents of eval.txt). */
const ZEROSHOT_TASK = { ...getTask('choice'), name: 'last_word' };
const ZEROSHOT_RECORDS = 120;

/** Scores the zero-shot documents with @stade/eval (documents packed into forwards, as the CLI does). */
function zeroshot(
  model: CausalLM,
  encode: (t: string) => Int32Array,
  docs: TaskDoc[],
  onDoc: (done: number, total: number) => void,
): ZeroshotShown {
  const { result, samples } = evaluateTask(model, encode, ZEROSHOT_TASK, docs, { onDoc });
  return { acc: result.acc, lls: samples.map((d) => d.lls), preds: samples.map((d) => d.pred) };
}

async function run({ base, settings: s }: RunRequest): Promise<DemoResult> {
  // Weights of the overall progress bar: loading, dense eval, pruning, pruned eval.
  const step = (from: number, span: number, label: string) => (done: number, total: number) =>
    post({ kind: 'progress', fraction: from + (span * done) / Math.max(1, total), label });
  let t0 = performance.now();
  step(0, 0.05, 'loading the model')(0, 1);
  await warmPool().catch(() => {}); // optional: start the pool's workers while the files download
  if (!/^[\w.-]+$/.test(s.model)) throw new Error(`bad model name ${JSON.stringify(s.model)}`);
  const dir = `${base}models/${s.model}/`;
  const [config, weights, tj, tc, calibText, evalText] = await Promise.all([
    json(`${dir}config.json`),
    bytes(`${dir}model.safetensors`),
    json(`${dir}tokenizer.json`),
    json(`${dir}tokenizer_config.json`),
    text(`${base}text/calibration.txt`),
    text(`${base}text/eval.txt`),
  ]);
  const model = modelFromSource(
    new SafetensorsBuffer(config, [{ name: 'model.safetensors', bytes: weights }], s.model),
  );
  const tokenizer = new Tokenizer(tj, tc);
  const encode = (t: string) => Int32Array.from(tokenizer.encode(t).ids);
  if (s.seqlen > model.maxPositions)
    throw new Error(`seqlen ${s.seqlen} exceeds max_position_embeddings ${model.maxPositions}`);
  // A .txt source is one document (the CLI's readDocuments); contiguous sampling tokenises the joined text.
  const calibIds = checkVocab(encode(calibText), model.vocabSize, 'calibration.txt');
  const windows =
    s.sampling === 'contiguous'
      ? contiguousWindows(calibIds, { nsamples: s.nsamples, seqlen: s.seqlen })
      : randomWindows([calibIds], { nsamples: s.nsamples, seqlen: s.seqlen, seed: s.seed });
  const allEval = checkVocab(encode(evalText), model.vocabSize, 'eval.txt');
  // `--max-windows N`: the first N windows of the evaluation text.
  const evalIds = s.maxWindows > 0 ? allEval.subarray(0, Math.min(allEval.length, s.maxWindows * s.seqlen)) : allEval;
  const zsDocs = buildDocs(ZEROSHOT_TASK, lastWordRecords(evalText, ZEROSHOT_RECORDS), 'eval.txt').slice(
    0,
    s.zeroshotDocs,
  );
  const load = since(t0);

  t0 = performance.now();
  const dense = perplexity(model, evalIds, { seqlen: s.seqlen, onProgress: step(0.05, 0.15, 'perplexity (dense)') });
  const zsDense = zsDocs.length ? zeroshot(model, encode, zsDocs, step(0.2, 0.05, 'zero-shot (dense)')) : null;
  const denseSeconds = since(t0);

  t0 = performance.now();
  const pattern = parsePattern(s.pattern);
  const sparsity = resolveSparsity(pattern, pattern === 'unstructured' ? s.sparsity : undefined);
  const pruneStep = step(0.25, 0.45, 'pruning');
  const report = pruneModel(model, windows, {
    method: s.method as Parameters<typeof pruneModel>[2]['method'],
    sparsity,
    pattern,
    group: 'row',
    biasCorrection: true,
    seed: s.seed,
    onProgress: (e) => {
      if (e.phase === 'stats') pruneStep(e.block, e.blocks);
    },
  });
  const pruneSeconds = since(t0);

  t0 = performance.now();
  const pruned = perplexity(model, evalIds, { seqlen: s.seqlen, onProgress: step(0.7, 0.25, 'perplexity (pruned)') });
  const zsPruned = zsDocs.length ? zeroshot(model, encode, zsDocs, step(0.95, 0.05, 'zero-shot (pruned)')) : null;
  const prunedSeconds = since(t0);
  const info = poolInfo();
  return {
    model: `models/${s.model}`,
    modelType: model.modelType,
    method: s.method,
    pattern: s.pattern,
    sparsity,
    zeros: report.zeros,
    dense: dense.ppl,
    pruned: pruned.ppl,
    evalWindows: pruned.windows,
    seqlen: s.seqlen,
    calibrationWindows: windows.length,
    layers: report.layers.map((l) => ({ name: l.name, block: l.block, zeros: l.zeros, mse: l.mse, cosine: l.cosine })),
    seconds: { load, dense: denseSeconds, prune: pruneSeconds, pruned: prunedSeconds },
    zeroshot:
      zsDense && zsPruned ? { task: ZEROSHOT_TASK.name, n: zsDocs.length, dense: zsDense, pruned: zsPruned } : null,
    threads: getThreads(),
    pool: {
      platform: info.platform,
      workers: info.workers,
      parallelCalls: info.parallelCalls,
      inlineCalls: info.inlineCalls,
    },
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
  };
}

let running = false;
self.onmessage = (ev: MessageEvent<RunRequest>) => {
  if (ev.data?.kind !== 'run' || running) return;
  running = true;
  run(ev.data)
    .then(
      (result) => {
        post({ kind: 'progress', fraction: 1, label: 'done' });
        post({ kind: 'result', result });
      },
      (e: unknown) => post({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
    )
    .finally(() => {
      running = false;
    });
};
