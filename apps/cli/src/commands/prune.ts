import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  effectiveMethod,
  type Method,
  type PruneReport,
  pruneModel,
  SCORE_METHODS,
  type ScoreMethod,
} from '@stade/prune';
import { type CausalLM, type Checkpoint, perplexity, perplexitySteps, resolveEvalMode } from '@stade/transformer';
import { bool, num, str, type Values } from '../args.js';
import { modelCard } from '../card.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { embedded } from '../paths.js';
import { type Pattern, parsePattern, patternName, resolveSparsity } from '../recipe.js';
import { pruneHtml, writeFileAtomic } from '../report/html.js';
import { log, Progress } from '../report/progress.js';
import { fmtPct, fmtPpl, fmtSci, renderTable } from '../report/table.js';
import type { PruneResult } from '../report/types.js';
import { checkOutput, ModelSaver, type SaveDtype, type WriterFactory } from '../save.js';
import { removeStaleTemps } from '../temp.js';
import { loadTokenizer } from '../text.js';
import { benchSaved, speedupLines } from './bench.js';
import {
  type CalibOptions,
  calibOptions,
  calibrationWindows,
  evalIds,
  limitWindows,
  openModel,
  peakRssMb,
  resolveModelDir,
  resolveSeqlen,
  since,
} from './common.js';
import { quietZeroshot, tasksInFolder, type ZeroshotComparison, zeroshotCompareTable } from './zeroshot.js';

/** Checks an --html report path can be written (its folder exists) before any work. */
export function checkReportPath(path: string | undefined, flag = '--html'): void {
  if (path === undefined) return;
  const parent = dirname(resolve(path));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw new CliError(`cannot write ${flag} ${path}: folder ${parent} does not exist`);
  }
  if (existsSync(path) && statSync(path).isDirectory())
    throw new CliError(`cannot write ${flag} ${path}: it is a folder`);
}

/** The flags of a pruning recipe, validated (usage errors before any file is touched). */
export interface Recipe {
  method: Method;
  pattern: Pattern;
  sparsity: number;
  group: 'row' | 'layer';
  owl: boolean;
  biasCorrection: boolean;
  seed: number;
}

/** Reads and validates the recipe flags of `stade prune`. */
export function readRecipe(v: Values): Recipe {
  const pattern = parsePattern(str(v, 'pattern') ?? 'unstructured');
  const sparsity = resolveSparsity(pattern, num(v, 'sparsity'));
  const owl = bool(v, 'owl');
  if (owl && pattern !== 'unstructured')
    throw new UsageError(`--owl works with unstructured pruning only, not --pattern ${patternName(pattern)}`);
  return {
    method: str(v, 'method') as Method,
    pattern,
    sparsity,
    group: str(v, 'group') as 'row' | 'layer',
    owl,
    biasCorrection: !bool(v, 'no-bias-correction'),
    seed: num(v, 'seed')!,
  };
}

/** Reconstructs the command line of a run (for the model card). */
export function commandLine(argv: readonly string[] | undefined, v: Values): string {
  if (argv)
    return `stade ${argv.map((a) => (/^[\w./:=,@+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ')}`;
  return `stade prune --method ${str(v, 'method')}`;
}

/** Progress of the driver on stderr: one step per block. */
export function driverProgress(io: Io, label: string, blocks: number) {
  const bar = new Progress(io, label, blocks);
  let owl: Progress | null = null;
  return {
    onProgress: (e: { phase: string; block: number; blocks: number }) => {
      if (e.phase === 'owl') {
        owl ??= new Progress(io, 'owl', e.blocks);
        owl.update(e.block, `block ${e.block}`);
      } else if (e.phase === 'stats') {
        if (owl) {
          owl.update(e.blocks);
          owl.finish();
          owl = null;
        }
        bar.update(e.block, `block ${e.block}`);
      }
    },
    finish: () => {
      bar.update(blocks);
      bar.finish();
    },
  };
}

/** Perplexity with a progress bar, window by window or block by block as `perplexity` chooses ('auto'). */
function evalPerplexity(io: Io, label: string, model: CausalLM, ids: Int32Array, seqlen: number) {
  const mode = resolveEvalMode(model, 'auto');
  const bar = new Progress(
    io,
    `${label} (${mode} mode)`,
    perplexitySteps(model, Math.floor(ids.length / seqlen), mode, seqlen),
  );
  const r = perplexity(model, ids, { seqlen, mode, onProgress: (d) => bar.update(d) });
  bar.finish();
  return r;
}

/** Linear layers that will carry a bias after pruning: those that have one, and those STADE's correction gives one. */
export function plannedBiases(model: CausalLM, recipe: Recipe): Set<string> {
  const out = new Set<string>();
  const scores = (SCORE_METHODS as readonly string[]).includes(recipe.method);
  const prunes = recipe.pattern !== 'unstructured' || recipe.sparsity > 0;
  for (let i = 0; i < model.numBlocks; i++) {
    for (const n of model.linearNames(i)) {
      const corrects = scores && effectiveMethod(recipe.method as ScoreMethod, n) === 'stade';
      if (model.linearInfo(n).bias || (recipe.biasCorrection && prunes && corrects)) out.add(n);
    }
  }
  return out;
}

/** The dtype of the saved weights: --dtype, or the checkpoint's own. */
function saveDtype(v: Values, ckpt: Checkpoint, dir: string): SaveDtype {
  const flag = str(v, 'dtype') ?? 'auto';
  if (flag !== 'auto') return flag.toUpperCase() as SaveDtype;
  const d = ckpt.dtype;
  if (d !== 'F32' && d !== 'F16' && d !== 'BF16') {
    throw new CliError(`${dir}: cannot save weights of dtype ${d} (F32, F16 or BF16; choose one with --dtype)`);
  }
  return d;
}

/** Test hooks of `pruneCommand`. */
export interface PruneDeps {
  /** Creates each shard's writer (tests inject failing ones). */
  createWriter?: WriterFactory;
}

/**
 * `stade prune`: prune a model block by block, writing each finished block at once into a temporary folder beside
 * --out (one block of weights in memory); with --eval, measure perplexity before pruning and on the saved folder
 * after; then rename the folder into place.
 */
export async function pruneCommand(
  v: Values,
  io: Io,
  argv?: readonly string[],
  deps: PruneDeps = {},
): Promise<PruneResult> {
  const t0 = performance.now();
  const recipe = readRecipe(v);
  const out = str(v, 'out')!;
  const overwrite = bool(v, 'overwrite');
  const html = str(v, 'html');
  checkOutput(out, overwrite);
  checkReportPath(html);
  const zsDir = str(v, 'zeroshot');
  const zsTasks = zsDir ? await tasksInFolder(zsDir, num(v, 'zeroshot-limit')) : null;
  for (const p of removeStaleTemps(out)) log(io, `removed ${p}, left by an earlier run that was killed`);
  const dir = resolveModelDir(v);
  const calibPath = str(v, 'calib') ?? embedded.calib();
  // On the embedded model, perplexity is measured on the embedded text unless another is given.
  const evalPath = str(v, 'eval') ?? (str(v, 'model') === undefined ? embedded.eval() : undefined);
  const { ckpt, model } = openModel(dir);
  try {
    const dtype = saveDtype(v, ckpt, dir);
    const seqlen = resolveSeqlen(v, model, dir);
    const tok = loadTokenizer(dir);
    const calib = calibOptions(v, seqlen);
    const { windows, tokens } = calibrationWindows(tok, calibPath, model, calib);
    const evalTokens = evalPath
      ? limitWindows(evalIds(tok, evalPath, model, seqlen), seqlen, num(v, 'max-windows'))
      : null;
    let dense: number | undefined;
    if (evalTokens) {
      dense = evalPerplexity(io, 'eval dense', model, evalTokens, seqlen).ppl;
    }
    const zsDense = zsTasks ? quietZeroshot(model, tok, zsTasks, io, 'zeroshot dense') : null;
    const saver = ModelSaver.begin(
      model,
      {
        ckpt,
        out,
        dtype,
        maxShardBytes: num(v, 'max-shard-mb')! * 1024 * 1024,
        overwrite,
        biases: plannedBiases(model, recipe),
        ...(deps.createWriter ? { createWriter: deps.createWriter } : {}),
      },
      io,
    );
    try {
      return await pruneInto(
        saver,
        { v, io, argv, t0, recipe, dir, ckpt, model, dtype, seqlen, windows, tokens },
        {
          calibPath,
          calib,
          evalTokens,
          evalPath,
          dense,
          html,
          zeroshot: zsTasks && zsDense ? { dir: zsDir!, tasks: zsTasks, dense: zsDense, tok } : null,
        },
      );
    } catch (e) {
      saver.abort();
      throw e;
    }
  } finally {
    ckpt.close();
  }
}

interface RunState {
  v: Values;
  io: Io;
  argv: readonly string[] | undefined;
  t0: number;
  recipe: Recipe;
  dir: string;
  ckpt: Checkpoint;
  model: CausalLM;
  dtype: SaveDtype;
  seqlen: number;
  windows: Int32Array[];
  tokens: number;
}

/** Prunes with the saver as the driver's sink, evaluates the saved folder, publishes it and reports. */
async function pruneInto(
  saver: ModelSaver,
  s: RunState,
  e: {
    calibPath: string;
    calib: CalibOptions;
    evalTokens: Int32Array | null;
    evalPath: string | undefined;
    dense: number | undefined;
    html: string | undefined;
    zeroshot: {
      dir: string;
      tasks: Awaited<ReturnType<typeof tasksInFolder>>;
      dense: ReturnType<typeof quietZeroshot>;
      tok: ReturnType<typeof loadTokenizer>;
    } | null;
  },
): Promise<PruneResult> {
  const { v, io, recipe, model, seqlen, windows } = s;
  log(
    io,
    `pruning ${s.dir} with ${recipe.method} at ${patternName(recipe.pattern) === 'unstructured' ? fmtPct(recipe.sparsity) : patternName(recipe.pattern)} (${windows.length} calibration windows of ${seqlen} tokens), writing ${saver.dir}`,
  );
  const progress = driverProgress(io, 'prune', model.numBlocks);
  const report: PruneReport = pruneModel(model, windows, {
    method: recipe.method,
    sparsity: recipe.sparsity,
    pattern: recipe.pattern,
    group: recipe.group,
    biasCorrection: recipe.biasCorrection,
    seed: recipe.seed,
    owl: recipe.owl,
    onProgress: progress.onProgress,
    sink: (b) => {
      for (const l of b.layers) saver.writeLayer(l);
    },
  });
  progress.finish();
  saver.finish('');
  let ppl: PruneResult['ppl'];
  let zeroshot: ZeroshotComparison | undefined;
  if ((e.evalTokens && e.dense !== undefined) || e.zeroshot) {
    // the saved weights, read back from the folder about to be published
    const saved = openModel(saver.dir);
    try {
      if (e.evalTokens && e.dense !== undefined) {
        const r = evalPerplexity(io, 'eval pruned', saved.model, e.evalTokens, seqlen);
        ppl = { dense: e.dense, pruned: r.ppl, windows: r.windows, seqlen, data: e.evalPath! };
      }
      if (e.zeroshot) {
        const z = e.zeroshot;
        const pruned = quietZeroshot(saved.model, z.tok, z.tasks, io, 'zeroshot pruned');
        zeroshot = {
          data: z.dir,
          dense: z.dense.tasks,
          pruned: pruned.tasks,
          dense_mean_acc: z.dense.mean_acc,
          pruned_mean_acc: pruned.mean_acc,
        };
      }
    } finally {
      saved.ckpt.close();
    }
  }
  const result: PruneResult = {
    model: s.dir,
    out: str(v, 'out')!,
    method: recipe.method,
    sparsity: recipe.sparsity,
    pattern: patternName(recipe.pattern),
    group: recipe.group,
    owl: recipe.owl,
    biasCorrection: recipe.biasCorrection,
    calibration: { source: e.calibPath, ...e.calib, tokens: s.tokens },
    dtype: s.dtype,
    zeros: report.zeros,
    seconds: 0,
    blocks: report.blocks.map((b) => ({
      index: b.index,
      zeros: b.zeros,
      mse: b.mse,
      cosine: b.cosine,
      seconds: b.seconds,
    })),
    layers: report.layers.map((l) => ({
      name: l.name,
      zeros: l.zeros,
      mse: l.mse,
      cosine: l.cosine,
      seconds: l.seconds,
    })),
    warnings: saver.warnings,
    ...(report.owl ? { owlAllocation: report.owl } : {}),
    ...(ppl ? { ppl } : {}),
    ...(zeroshot ? { zeroshot } : {}),
  };
  saver.card(modelCard(result, commandLine(s.argv, v)));
  saver.publish();
  if (bool(v, 'bench')) result.bench = benchSaved(io, s.dir, result.out, s.model.maxPositions);
  for (const w of result.warnings) log(io, `stade: warning: ${w}`);
  result.seconds = since(s.t0);
  result.peakRssMb = peakRssMb();
  if (e.html) writeFileAtomic(io, e.html, pruneHtml(result));
  if (bool(v, 'json')) io.out(`${JSON.stringify(result)}\n`);
  else io.out(pruneText(result));
  return result;
}

/** The terminal summary of a prune run. */
export function pruneText(r: PruneResult): string {
  const table = renderTable(
    [
      { header: 'layer' },
      { header: 'zeros', align: 'right' },
      { header: 'mse', align: 'right' },
      { header: 'cosine', align: 'right' },
    ],
    r.layers.map((l) => [
      l.name,
      fmtPct(l.zeros),
      l.mse === null ? '-' : fmtSci(l.mse),
      l.cosine === null ? '-' : l.cosine.toFixed(5),
    ]),
  );
  const lines = [
    table,
    '',
    `${r.method} ${r.pattern === 'unstructured' ? `unstructured ${fmtPct(r.sparsity)}` : r.pattern} (group ${r.group}${r.owl ? ', OWL' : ''}): ${fmtPct(r.zeros)} zeros, ${r.seconds.toFixed(1)} s`,
  ];
  if (r.ppl)
    lines.push(
      `perplexity ${fmtPpl(r.ppl.dense)} -> ${fmtPpl(r.ppl.pruned)} (${r.ppl.windows} windows of ${r.ppl.seqlen} tokens)`,
    );
  if (r.zeroshot) lines.push('', `zero-shot accuracy (${r.zeroshot.data})`, zeroshotCompareTable(r.zeroshot));
  if (r.bench) lines.push(`speed (stade bench, --weights auto): ${speedupLines(r.bench.models)[0]}`);
  lines.push(`saved ${r.out}`, '');
  return lines.join('\n');
}
