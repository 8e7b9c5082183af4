import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Method, type PruneReport, pruneModel } from '@stade/prune';
import { perplexity } from '@stade/transformer';
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
import { checkOutput, type SaveDtype, saveModel } from '../save.js';
import { loadTokenizer } from '../text.js';
import {
  calibOptions,
  calibrationWindows,
  evalIds,
  limitWindows,
  openModel,
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

/** `stade prune`: prune a model, optionally measure perplexity before and after, save it. */
export async function pruneCommand(v: Values, io: Io, argv?: readonly string[]): Promise<PruneResult> {
  const t0 = performance.now();
  const recipe = readRecipe(v);
  const out = str(v, 'out')!;
  const overwrite = bool(v, 'overwrite');
  const html = str(v, 'html');
  checkOutput(out, overwrite);
  checkReportPath(html);
  const zsDir = str(v, 'zeroshot');
  const zsTasks = zsDir ? await tasksInFolder(zsDir, num(v, 'zeroshot-limit')) : null;
  const dir = resolveModelDir(v);
  const calibPath = str(v, 'calib') ?? embedded.calib();
  // On the embedded model, perplexity is measured on the embedded text unless another is given.
  const evalPath = str(v, 'eval') ?? (str(v, 'model') === undefined ? embedded.eval() : undefined);
  const { ckpt, model } = openModel(dir);
  const dtype = ckpt.dtype;
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
    throw new CliError(`${dir}: cannot save weights of dtype ${dtype} (F32, F16 or BF16)`);
  }
  const seqlen = resolveSeqlen(v, model, dir);
  const tok = loadTokenizer(dir);
  const calib = calibOptions(v, seqlen);
  const { windows, tokens } = calibrationWindows(tok, calibPath, model, calib);
  const evalTokens = evalPath
    ? limitWindows(evalIds(tok, evalPath, model, seqlen), seqlen, num(v, 'max-windows'))
    : null;
  let dense: number | undefined;
  if (evalTokens) {
    const bar = new Progress(io, 'eval dense', Math.floor(evalTokens.length / seqlen));
    dense = perplexity(model, evalTokens, { seqlen, onProgress: (d) => bar.update(d) }).ppl;
    bar.finish();
  }
  const zsDense = zsTasks ? quietZeroshot(model, tok, zsTasks, io, 'zeroshot dense') : null;
  log(
    io,
    `pruning ${dir} with ${recipe.method} at ${patternName(recipe.pattern) === 'unstructured' ? fmtPct(recipe.sparsity) : patternName(recipe.pattern)} (${windows.length} calibration windows of ${seqlen} tokens)`,
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
  });
  progress.finish();
  let ppl: PruneResult['ppl'];
  if (evalTokens && dense !== undefined) {
    const bar = new Progress(io, 'eval pruned', Math.floor(evalTokens.length / seqlen));
    const r = perplexity(model, evalTokens, { seqlen, onProgress: (d) => bar.update(d) });
    bar.finish();
    ppl = { dense, pruned: r.ppl, windows: r.windows, seqlen, data: evalPath! };
  }
  let zeroshot: ZeroshotComparison | undefined;
  if (zsTasks && zsDense) {
    const pruned = quietZeroshot(model, tok, zsTasks, io, 'zeroshot pruned');
    zeroshot = {
      data: zsDir!,
      dense: zsDense.tasks,
      pruned: pruned.tasks,
      dense_mean_acc: zsDense.mean_acc,
      pruned_mean_acc: pruned.mean_acc,
    };
  }
  const result: PruneResult = {
    model: dir,
    out,
    method: recipe.method,
    sparsity: recipe.sparsity,
    pattern: patternName(recipe.pattern),
    group: recipe.group,
    owl: recipe.owl,
    biasCorrection: recipe.biasCorrection,
    calibration: { source: calibPath, ...calib, tokens },
    dtype,
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
    warnings: [],
    ...(report.owl ? { owlAllocation: report.owl } : {}),
    ...(ppl ? { ppl } : {}),
    ...(zeroshot ? { zeroshot } : {}),
  };
  log(io, `saving ${out}`);
  result.warnings = saveModel(
    model,
    {
      sourceDir: dir,
      out,
      dtype: dtype as SaveDtype,
      maxShardBytes: num(v, 'max-shard-mb')! * 1024 * 1024,
      card: modelCard(result, commandLine(argv, v)),
      overwrite,
    },
    io,
  );
  ckpt.close();
  for (const w of result.warnings) log(io, `stade: warning: ${w}`);
  result.seconds = since(t0);
  if (html) writeFileAtomic(io, html, pruneHtml(result));
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
  lines.push(`saved ${r.out}`, '');
  return lines.join('\n');
}
