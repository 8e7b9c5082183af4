import type { Tensor } from '@stade/tensor';
import { PruneError } from './errors.js';
import { checkSparsity, parsePattern, resolveSparsity } from './mask.js';
import { ErrorMeter, LayerErrorTap } from './metrics.js';
import type { BlockSink, PrunableModel } from './model.js';
import { type OwlOptions, outlierRatio, owlAllocation } from './owl.js';
import { checkMethod, type LayerPruneOptions, methodNeeds, pruneLinear } from './prune-layer.js';
import { type LayerStats, StatsCollector } from './stats.js';

export interface ProgressEvent {
  phase: 'owl' | 'stats' | 'prune' | 'rerun';
  block: number;
  blocks: number;
  layer?: string;
}

export interface PruneOptions extends LayerPruneOptions {
  /** Per-block sparsities (unstructured only); overrides `sparsity`. */
  sparsities?: readonly number[];
  /** OWL outlier-weighted allocation of `sparsity` over the blocks (unstructured only). */
  owl?: boolean | OwlOptions;
  /** Windows on which each layer's own output error is measured (default 2; 0 = none). */
  layerMetricWindows?: number;
  onProgress?: (e: ProgressEvent) => void;
  /**
   * Sequential mode: each finished block's pruned layers go to this sink and the block is then dropped from the
   * model (`dropBlock`), so only one block of weights is held. Without a sink the pruned weights stay in the
   * model (`setLinear` replacements).
   */
  sink?: BlockSink;
}

export interface LayerReport {
  name: string;
  block: number;
  /** Method used for this layer (stadew resolves per layer). */
  method: string;
  /** Target sparsity of the layer. */
  sparsity: number;
  /** Fraction of zeros in the pruned weight. */
  zeros: number;
  params: number;
  biasCorrected: boolean;
  /** Error of this layer's output (dense vs pruned weights, same inputs) on the first windows; null if not measured. */
  mse: number | null;
  cosine: number | null;
  seconds: number;
}

export interface BlockReport {
  index: number;
  sparsity: number;
  zeros: number;
  /** Dense vs pruned block outputs on the same inputs (null in dense-stats mode). */
  mse: number | null;
  cosine: number | null;
  seconds: number;
}

export interface PruneReport {
  mode: 'sequential' | 'dense-stats';
  method: string;
  pattern: string;
  group: string;
  /** Requested overall sparsity. */
  sparsity: number;
  /** Fraction of zeros over all pruned layers. */
  zeros: number;
  nsamples: number;
  seconds: number;
  blocks: BlockReport[];
  layers: LayerReport[];
  owl?: { ratios: number[]; sparsities: number[] };
}

const now = (): number => performance.now() / 1000;

function patternName(opts: PruneOptions): string {
  const p = parsePattern(opts.pattern);
  return p === 'unstructured' ? 'unstructured' : `${p.n}:${p.m}`;
}

/** Checks options up front and returns the requested overall sparsity. */
function validate(model: PrunableModel, opts: PruneOptions): number {
  checkMethod(opts.method);
  const pattern = parsePattern(opts.pattern);
  if (opts.sparsities) {
    if (pattern !== 'unstructured') throw new PruneError('per-block sparsities cannot be combined with an N:M pattern');
    if (opts.owl) throw new PruneError('give either per-block sparsities or OWL, not both');
    if (opts.sparsities.length !== model.numBlocks) {
      throw new PruneError(
        `${opts.sparsities.length} per-block sparsities given for a model with ${model.numBlocks} blocks`,
      );
    }
    opts.sparsities.forEach((s, i) => {
      checkSparsity(s, `block ${i}`);
    });
  }
  if (opts.owl && pattern !== 'unstructured')
    throw new PruneError('OWL allocation works with unstructured pruning only');
  if (opts.group && opts.group !== 'row' && opts.group !== 'layer')
    throw new PruneError(`unknown group ${JSON.stringify(opts.group)}: use row or layer`);
  if (opts.sparsities) {
    let p = 0;
    let z = 0;
    for (let i = 0; i < model.numBlocks; i++) {
      const n = blockParams(model, i);
      p += n;
      z += n * opts.sparsities[i]!;
    }
    const avg = z / p;
    if (opts.sparsity !== undefined && Math.abs(avg - opts.sparsity) > 1e-6) {
      throw new PruneError(
        `the per-block sparsities average ${avg.toFixed(6)} over the parameters, not the requested ${opts.sparsity}`,
      );
    }
    return avg;
  }
  return resolveSparsity(pattern, opts.sparsity);
}

function blockParams(model: PrunableModel, i: number): number {
  let n = 0;
  for (const name of model.linearNames(i)) {
    const s = model.linearInfo?.(name);
    n += s ? s.out * s.in : model.getLinear(name).weight.size;
  }
  return n;
}

function owlOpts(o: PruneOptions['owl']): OwlOptions {
  return typeof o === 'object' ? o : {};
}

function countZeros(t: Tensor): number {
  const v = t.values();
  let z = 0;
  for (let k = 0; k < v.length; k++) if (v[k] === 0) z++;
  return z;
}

/** Prunes every linear layer of block i from its statistics; returns the layer reports and the dense weights. */
function pruneBlock(
  model: PrunableModel,
  i: number,
  stats: (name: string) => LayerStats | null,
  sparsity: number | undefined,
  opts: PruneOptions,
): { layers: LayerReport[]; dense: Map<string, { weight: Tensor; bias: Tensor | null }> } {
  const layers: LayerReport[] = [];
  const dense = new Map<string, { weight: Tensor; bias: Tensor | null }>();
  for (const name of model.linearNames(i)) {
    opts.onProgress?.({ phase: 'prune', block: i, blocks: model.numBlocks, layer: name });
    const t0 = now();
    const l = model.getLinear(name);
    dense.set(name, { weight: l.weight, bias: l.bias });
    const r = pruneLinear(name, l.weight, l.bias, stats(name), { ...opts, sparsity });
    model.setLinear(name, r.weight, r.bias);
    layers.push({
      name,
      block: i,
      method: r.method,
      sparsity: r.weight.size ? resolveSparsity(parsePattern(opts.pattern), sparsity) : 0,
      zeros: countZeros(r.weight) / r.weight.size,
      params: r.weight.size,
      biasCorrected: r.biasCorrected,
      mse: null,
      cosine: null,
      seconds: now() - t0,
    });
  }
  return { layers, dense };
}

function summarise(
  mode: PruneReport['mode'],
  opts: PruneOptions,
  sparsity: number,
  nsamples: number,
  t0: number,
  blocks: BlockReport[],
  layers: LayerReport[],
): PruneReport {
  return {
    mode,
    method: opts.method,
    pattern: patternName(opts),
    group: opts.group ?? 'row',
    sparsity,
    zeros: weightedZeros(layers),
    nsamples,
    seconds: now() - t0,
    blocks,
    layers,
  };
}

/** Fraction of zeros over the given layers, weighted by their parameter counts. */
function weightedZeros(layers: LayerReport[]): number {
  let p = 0;
  let z = 0;
  for (const l of layers) {
    p += l.params;
    z += l.zeros * l.params;
  }
  return p ? z / p : 0;
}

/** OWL outlier ratios of every block from a dense pass over the windows (per-column scaler only). */
function owlRatiosDense(
  model: PrunableModel,
  windows: readonly Int32Array[],
  o: OwlOptions,
  onProgress?: PruneOptions['onProgress'],
): number[] {
  let hs = windows.map((ids) => model.embed(ids));
  const ratios: number[] = [];
  for (let i = 0; i < model.numBlocks; i++) {
    onProgress?.({ phase: 'owl', block: i, blocks: model.numBlocks });
    const c = new StatsCollector();
    hs = hs.map((h) => model.block(i, h, { tap: c.tap }));
    ratios.push(
      outlierRatio(
        model.linearNames(i).map((n) => ({ weight: model.getLinear(n).weight, stats: c.get(n) })),
        o.m ?? 5,
      ),
    );
    model.releaseBlock?.(i);
  }
  return ratios;
}

/**
 * The sequential driver (SPEC 8): embed the windows; per block, collect the statistics of its linear layers over the
 * current inputs, prune them all, then rerun the block with the pruned weights to get the next block's inputs. The
 * report has per-layer zeros and per-block MSE / cosine between dense and pruned outputs on the same inputs.
 * Only one block's statistics are alive at a time.
 */
export function pruneModel(model: PrunableModel, windows: readonly Int32Array[], opts: PruneOptions): PruneReport {
  const t0 = now();
  const target = validate(model, opts);
  if (windows.length === 0 && methodNeeds(opts.method).stats)
    throw new PruneError(`${opts.method} needs calibration windows, none given`);
  const needs = methodNeeds(opts.method);
  const B = model.numBlocks;
  let sparsities: (number | undefined)[] = new Array(B).fill(opts.sparsity);
  let owl: PruneReport['owl'];
  if (opts.sparsities) sparsities = [...opts.sparsities];
  else if (opts.owl) {
    const o = owlOpts(opts.owl);
    const ratios = owlRatiosDense(model, windows, o, opts.onProgress);
    const params = Array.from({ length: B }, (_, i) => blockParams(model, i));
    sparsities = owlAllocation(ratios, params, target, o);
    owl = { ratios, sparsities: sparsities as number[] };
  }
  const metricWindows = Math.min(windows.length, opts.layerMetricWindows ?? 2);
  const hs: Tensor[] = windows.map((ids) => model.embed(ids)); // each [T, hidden]
  const blocks: BlockReport[] = [];
  const layers: LayerReport[] = [];
  for (let i = 0; i < B; i++) {
    const tb = now();
    opts.onProgress?.({ phase: 'stats', block: i, blocks: B });
    const collector = needs.stats ? new StatsCollector({ hessian: needs.hessian }) : null;
    const denseOut: (Tensor | null)[] = hs.map((h) => model.block(i, h, collector ? { tap: collector.tap } : {}));
    const { layers: lr, dense } = pruneBlock(
      model,
      i,
      (n) => (collector ? collector.get(n) : null),
      sparsities[i],
      opts,
    );
    // Rerun with the pruned weights; measure block error and, on the first windows, each layer's own error.
    opts.onProgress?.({ phase: 'rerun', block: i, blocks: B });
    const layerErr = new LayerErrorTap(model, dense);
    const blockMeter = new ErrorMeter();
    for (let k = 0; k < hs.length; k++) {
      const out = model.block(i, hs[k]!, k < metricWindows ? { tap: layerErr.tap } : {});
      blockMeter.addTensors(denseOut[k]!, out);
      denseOut[k] = null;
      hs[k] = out;
    }
    const errs = layerErr.results();
    for (const l of lr) {
      const e = errs.get(l.name);
      if (e) {
        l.mse = e.mse;
        l.cosine = e.cosine;
      }
    }
    if (opts.sink) {
      opts.sink({ index: i, layers: model.linearNames(i).map((n) => model.getLinear(n)) });
      if (model.dropBlock) model.dropBlock(i);
      else model.releaseBlock?.(i);
    } else model.releaseBlock?.(i);
    const sp = lr.length ? lr[0]!.sparsity : 0;
    blocks.push({
      index: i,
      sparsity: sp,
      zeros: weightedZeros(lr),
      mse: blockMeter.mse(),
      cosine: blockMeter.cosine(),
      seconds: now() - tb,
    });
    layers.push(...lr);
  }
  const rep = summarise('sequential', opts, target, windows.length, t0, blocks, layers);
  if (owl) rep.owl = owl;
  return rep;
}

/** Statistics of every linear layer of every block, collected once from the dense model. */
export interface DenseStats {
  blocks: StatsCollector[];
  nsamples: number;
  hessian: boolean;
}

/**
 * `dense-stats` mode, step 1: runs the dense model over the windows once and keeps every block's statistics
 * (memory: all layers' statistics, including Hessians when asked for).
 */
export function collectDenseStats(
  model: PrunableModel,
  windows: readonly Int32Array[],
  opts: { hessian?: boolean; onProgress?: PruneOptions['onProgress'] } = {},
): DenseStats {
  if (windows.length === 0) throw new PruneError('collectDenseStats: no calibration windows given');
  let hs = windows.map((ids) => model.embed(ids));
  const blocks: StatsCollector[] = [];
  for (let i = 0; i < model.numBlocks; i++) {
    opts.onProgress?.({ phase: 'stats', block: i, blocks: model.numBlocks });
    const c = new StatsCollector({ hessian: opts.hessian ?? false });
    hs = hs.map((h) => model.block(i, h, { tap: c.tap }));
    model.releaseBlock?.(i);
    blocks.push(c);
  }
  return { blocks, nsamples: windows.length, hessian: opts.hessian ?? false };
}

/**
 * `dense-stats` mode, step 2: prunes every layer from the dense statistics. Call `restoreLinears` between runs to
 * prune the same dense model to several sparsities or methods.
 */
export function applyPruning(model: PrunableModel, stats: DenseStats, opts: PruneOptions): PruneReport {
  const t0 = now();
  const target = validate(model, opts);
  if (stats.blocks.length !== model.numBlocks)
    throw new PruneError(`dense statistics cover ${stats.blocks.length} blocks, the model has ${model.numBlocks}`);
  if (methodNeeds(opts.method).hessian && !stats.hessian)
    throw new PruneError(`${opts.method} needs dense statistics collected with the Hessian`);
  const B = model.numBlocks;
  let sparsities: (number | undefined)[] = new Array(B).fill(opts.sparsity);
  let owl: PruneReport['owl'];
  if (opts.sparsities) sparsities = [...opts.sparsities];
  else if (opts.owl) {
    const o = owlOpts(opts.owl);
    const ratios = stats.blocks.map((c, i) =>
      outlierRatio(
        model.linearNames(i).map((n) => ({ weight: model.getLinear(n).weight, stats: c.get(n) })),
        o.m ?? 5,
      ),
    );
    const params = Array.from({ length: B }, (_, i) => blockParams(model, i));
    sparsities = owlAllocation(ratios, params, target, o);
    owl = { ratios, sparsities: sparsities as number[] };
  }
  const blocks: BlockReport[] = [];
  const layers: LayerReport[] = [];
  for (let i = 0; i < B; i++) {
    const tb = now();
    const c = stats.blocks[i]!;
    const { layers: lr } = pruneBlock(model, i, (n) => c.get(n), sparsities[i], opts);
    const sp = lr.length ? lr[0]!.sparsity : 0;
    blocks.push({ index: i, sparsity: sp, zeros: weightedZeros(lr), mse: null, cosine: null, seconds: now() - tb });
    layers.push(...lr);
  }
  const rep = summarise('dense-stats', opts, target, stats.nsamples, t0, blocks, layers);
  if (owl) rep.owl = owl;
  return rep;
}
