import { Arena, Tensor } from '@stade/tensor';
import { PruneError } from '../errors.js';
import { parsePattern, resolveSparsity } from '../mask.js';
import { LayerErrorTap, type LinearSource } from '../metrics.js';
import { type PrunableModel, restoreLinears } from '../model.js';
import { isStadewStadeLayer } from '../scores/index.js';
import { StatsCollector } from '../stats.js';
import {
  type AnalyzeTarget,
  analyzeLinear,
  type LinearAnalysis,
  type PredictedError,
  type PrunedLinear,
} from './layer.js';
import { TokenRelativeMeter } from './measure.js';
import { type Recommendation, recommendLayer, recommendModel } from './recommend.js';

/** One linear layer in the model report. */
export interface LayerAnalysisReport {
  name: string;
  block: number;
  noncentred: number;
  outlierShare: number;
  meanNorm: number;
  predicted: { wanda: PredictedError; stade: PredictedError };
  /** Output MSE of each method's weights on the dense inputs of the held-out windows (null: none given). */
  measured: { wanda: number; stade: number } | null;
  maskDifference: number;
  recommend: 'wanda' | 'stade';
  reason: string;
}

/** One block pruned as a whole with each method, on the dense inputs of the held-out windows. */
export interface BlockAnalysis {
  index: number;
  /** Mean over tokens of ||dense_t - pruned_t||^2 / ||dense_t||^2 of the block output. */
  relative: { wanda: number; stade: number; stadew: number };
  /** Plain MSE of the block output. */
  mse: { wanda: number; stade: number; stadew: number };
}

export interface AnalyzeReport {
  sparsity: number;
  pattern: string;
  group: string;
  nsamples: number;
  heldout: number;
  layers: LayerAnalysisReport[];
  /** Empty when no held-out windows were given. */
  blocks: BlockAnalysis[];
  recommend: Recommendation;
  reason: string;
  summary: AnalyzeSummary;
}

/** Where the per-layer theory and the measurements agree. */
export interface AnalyzeSummary {
  /** Layers whose held-out ordering of stade vs wanda matches the exact in-sample prediction (diag + cross). */
  agree: string[];
  disagree: string[];
  /** Layers where the cross terms reverse the independence closed form's ordering. */
  crossReverses: string[];
  /** Blocks where stade lowers most layers' own errors but raises the block-output error relative to token norms. */
  blockEffects: number[];
}

export interface AnalyzeOptions extends AnalyzeTarget {
  /** Skip the exact cross terms (no [in, in] second-moment matrices; cross reported as NaN). */
  cross?: boolean;
  onProgress?: (e: { phase: 'stats' | 'measure'; block: number; blocks: number }) => void;
}

const METHODS = ['wanda', 'stade', 'stadew'] as const;

/**
 * `stade analyze`: one dense calibration pass, block by block. Per linear layer: input statistics, the Wanda and
 * STADE masks and their closed-form errors (from the dense statistics, with the exact cross terms from X^T X), and
 * each method's output error on the dense inputs of the held-out windows (LayerErrorTap). Per block: the block
 * pruned with wanda, stade and stadew, its output error relative to each token's norm. Only one block's statistics
 * are alive at a time; the model is left dense. Memory: block i runs in one of two arenas, alternating, reset two
 * blocks later, once block i + 1 consumed its outputs: analysing 16 blocks allocates what 4 do.
 */
export function analyzeModel(
  model: PrunableModel,
  calib: readonly Int32Array[],
  heldout: readonly Int32Array[],
  opts: AnalyzeOptions,
): AnalyzeReport {
  if (calib.length === 0) throw new PruneError('analyze: no calibration windows given');
  const pattern = parsePattern(opts.pattern);
  const sparsity = resolveSparsity(pattern, opts.sparsity);
  const B = model.numBlocks;
  const arenas = [new Arena(), new Arena()];
  const layers: LayerAnalysisReport[] = [];
  const blocks: BlockAnalysis[] = [];
  try {
    // the embeddings are lent by the arena block 1 resets (block 0 has consumed them by then)
    let { hc, hh } = arenas[1]!.use(() => ({
      hc: calib.map((ids) => model.embed(ids)), // each [T, hidden]
      hh: heldout.map((ids) => model.embed(ids)),
    }));
    for (let i = 0; i < B; i++) {
      const arena = arenas[i % 2]!;
      arena.reset(); // block i - 2's memory: its outputs were block i - 1's inputs, consumed
      ({ hc, hh } = arena.use(() => analyzeBlock(model, i, hc, hh, opts, layers, blocks)));
      model.releaseBlock?.(i);
    }
  } finally {
    for (const a of arenas) a.dispose();
  }
  const model_ = modelRecommendation(layers, blocks);
  return {
    sparsity,
    pattern: pattern === 'unstructured' ? 'unstructured' : `${pattern.n}:${pattern.m}`,
    group: opts.group ?? 'row',
    nsamples: calib.length,
    heldout: heldout.length,
    layers,
    blocks,
    ...model_,
    summary: summarise(layers, blocks),
  };
}

/** Block i of analyzeModel: statistics, per-layer analyses and held-out measurements; returns the next inputs. */
function analyzeBlock(
  model: PrunableModel,
  i: number,
  hcIn: Tensor[],
  hh: Tensor[],
  opts: AnalyzeOptions,
  layers: LayerAnalysisReport[],
  blocks: BlockAnalysis[],
): { hc: Tensor[]; hh: Tensor[] } {
  const B = model.numBlocks;
  // layers still as stored are restored by resetLinear: their dense float32 copies are this block's arena's
  const stored = new Set(model.linearNames(i).filter((n) => model.resetLinear && model.isLinearSet?.(n) === false));
  opts.onProgress?.({ phase: 'stats', block: i, blocks: B });
  const collector = new StatsCollector({ hessian: opts.cross ?? true });
  const hc = hcIn.map((h) => model.block(i, h, { tap: collector.tap }));
  const names = model.linearNames(i);
  const dense = new Map<string, PrunedLinear>();
  const analyses: LinearAnalysis[] = [];
  for (const name of names) {
    const l = model.getLinear(name);
    dense.set(name, { weight: l.weight, bias: l.bias });
    analyses.push(analyzeLinear(name, l.weight, l.bias, collector.get(name), opts, { cross: opts.cross }));
  }
  opts.onProgress?.({ phase: 'measure', block: i, blocks: B });
  const measured = measureBlock(model, i, hh, dense, analyses, stored);
  if (measured.block) blocks.push(measured.block);
  for (const a of analyses) {
    const m = measured.layers.get(a.name) ?? null;
    const r = recommendLayer({ noncentred: a.noncentred, predicted: a.predicted, measured: m });
    layers.push({
      name: a.name,
      block: i,
      noncentred: a.noncentred,
      outlierShare: a.outlierShare,
      meanNorm: a.meanNorm,
      predicted: a.predicted,
      measured: m,
      maskDifference: a.maskDifference,
      ...r,
    });
  }
  return { hc, hh: measured.next };
}

/** Held-out measurements of block i; returns the dense outputs (the next block's inputs). */
function measureBlock(
  model: PrunableModel,
  i: number,
  hh: Tensor[],
  dense: Map<string, PrunedLinear>,
  analyses: LinearAnalysis[],
  stored: ReadonlySet<string>,
): { next: Tensor[]; layers: Map<string, { wanda: number; stade: number }>; block: BlockAnalysis | null } {
  const layers = new Map<string, { wanda: number; stade: number }>();
  if (hh.length === 0) return { next: hh, layers, block: null };
  const byMethod = (m: 'wanda' | 'stade'): Map<string, PrunedLinear> =>
    new Map(analyses.map((a) => [a.name, a.pruned[m]]));
  const source = (w: Map<string, PrunedLinear>): LinearSource => ({ getLinear: (n) => w.get(n)! });
  const pw = byMethod('wanda');
  const ps = byMethod('stade');
  // Per layer: the dense model runs; each tap applies the dense and the method's weights to the same dense input.
  const tw = new LayerErrorTap(source(pw), dense);
  const ts = new LayerErrorTap(source(ps), dense);
  let next: Tensor[];
  try {
    next = hh.map((h) =>
      model.block(i, h, {
        tap: (n, x) => {
          tw.tap(n, x);
          ts.tap(n, x);
        },
      }),
    );
  } finally {
    // the taps' scratch goes back to the recycler for the next block's taps (not left to the GC)
    tw.dispose();
    ts.dispose();
  }
  const rw = tw.results();
  const rs = ts.results();
  for (const a of analyses) {
    const w = rw.get(a.name);
    const s = rs.get(a.name);
    if (w && s) layers.set(a.name, { wanda: w.mse, stade: s.mse });
  }
  // Per block: the whole block pruned with each method, same dense inputs, compared with the dense outputs.
  const relative = { wanda: 0, stade: 0, stadew: 0 };
  const mse = { wanda: 0, stade: 0, stadew: 0 };
  for (const m of METHODS) {
    for (const a of analyses) {
      const p =
        m === 'stadew' ? (isStadewStadeLayer(a.name) ? ps : pw).get(a.name)! : (m === 'stade' ? ps : pw).get(a.name)!;
      // A layer that gained a bias (stade, an earlier method) keeps one: zeros where the method has none.
      const bias = p.bias ?? (model.getLinear(a.name).bias ? Tensor.zeros([p.weight.shape[0]!]) : null);
      model.setLinear(a.name, p.weight, bias);
    }
    const meter = new TokenRelativeMeter();
    hh.forEach((h, k) => {
      meter.add(next[k]!, model.block(i, h));
    });
    relative[m] = meter.relative();
    mse[m] = meter.mse();
    for (const n of stored) model.resetLinear!(n);
    restoreLinears(model, new Map([...dense].filter(([n]) => !stored.has(n))));
  }
  return { next, layers, block: { index: i, relative, mse } };
}

function modelRecommendation(
  layers: LayerAnalysisReport[],
  blocks: BlockAnalysis[],
): { recommend: Recommendation; reason: string } {
  if (blocks.length > 0) {
    const sum = { wanda: 0, stade: 0, stadew: 0 };
    for (const b of blocks) for (const m of METHODS) sum[m] += b.relative[m];
    return recommendModel(sum, blocks.length);
  }
  // No held-out windows: the per-layer predictions decide, by parameter-free majority of stadew's split.
  const stade = layers.filter((l) => l.recommend === 'stade');
  if (stade.length === 0) return { recommend: 'wanda', reason: 'wanda: no layer is predicted to gain from stade' };
  if (stade.length === layers.length) return { recommend: 'stade', reason: 'stade: every layer is predicted to gain' };
  return { recommend: 'stadew', reason: `stadew: ${stade.length} of ${layers.length} layers are predicted to gain` };
}

function summarise(layers: LayerAnalysisReport[], blocks: BlockAnalysis[]): AnalyzeSummary {
  const agree: string[] = [];
  const disagree: string[] = [];
  const crossReverses: string[] = [];
  for (const l of layers) {
    const { wanda: w, stade: s } = l.predicted;
    const ps = s.diag + s.cross;
    const pw = w.diag + w.cross;
    if (Number.isFinite(ps) && Number.isFinite(pw) && Math.sign(s.diag - w.diag) !== Math.sign(ps - pw))
      crossReverses.push(l.name);
    if (!l.measured) continue;
    const pred = Number.isFinite(ps - pw) ? Math.sign(ps - pw) : Math.sign(s.diag - w.diag);
    (Math.sign(l.measured.stade - l.measured.wanda) === pred ? agree : disagree).push(l.name);
  }
  const blockEffects = blocks
    .filter((b) => {
      const own = layers.filter((l) => l.block === b.index && l.measured);
      const gains = own.filter((l) => l.measured!.stade < l.measured!.wanda).length;
      return gains * 2 > own.length && b.relative.stade > b.relative.wanda;
    })
    .map((b) => b.index);
  return { agree, disagree, crossReverses, blockEffects };
}
