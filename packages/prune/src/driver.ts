import type { Tensor } from '@stade/tensor';
import { PruneError } from './errors.js';
import { checkSparsity, parsePattern, resolveSparsity } from './mask.js';
import { DriverMemory, into } from './memory.js';
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

export const now = (): number => performance.now() / 1000;

function patternName(opts: PruneOptions): string {
  const p = parsePattern(opts.pattern);
  return p === 'unstructured' ? 'unstructured' : `${p.n}:${p.m}`;
}

/** Checks options up front and returns the requested overall sparsity. */
export function validate(model: PrunableModel, opts: PruneOptions): number {
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

export function blockParams(model: PrunableModel, i: number): number {
  let n = 0;
  for (const name of model.linearNames(i)) {
    const s = model.linearInfo?.(name);
    n += s ? s.out * s.in : model.getLinear(name).weight.size;
  }
  return n;
}

export function owlOpts(o: PruneOptions['owl']): OwlOptions {
  return typeof o === 'object' ? o : {};
}

function countZeros(t: Tensor): number {
  const v = t.values();
  let z = 0;
  for (let k = 0; k < v.length; k++) z += +(v[k] === 0); // branch-free: a branch per weight costs more
  return z;
}

/**
 * Prunes every linear layer of block i from its statistics; returns the layer reports and the dense weights. With
 * `mem`, each layer is pruned in the layer arena and its result kept as `mem` says (see DriverMemory).
 */
export function pruneBlock(
  model: PrunableModel,
  i: number,
  stats: (name: string) => LayerStats | null,
  sparsity: number | undefined,
  opts: PruneOptions,
  mem?: DriverMemory,
): { layers: LayerReport[]; dense: Map<string, { weight: Tensor; bias: Tensor | null }> } {
  const layers: LayerReport[] = [];
  const dense = new Map<string, { weight: Tensor; bias: Tensor | null }>();
  for (const name of model.linearNames(i)) {
    opts.onProgress?.({ phase: 'prune', block: i, blocks: model.numBlocks, layer: name });
    const t0 = now();
    const l = model.getLinear(name);
    dense.set(name, { weight: l.weight, bias: l.bias });
    const prune = () => {
      const r = pruneLinear(name, l.weight, l.bias, stats(name), { ...opts, sparsity });
      return { r, zeros: countZeros(r.weight) };
    };
    const { r, zeros } = mem
      ? mem.eachLayer(prune, ({ r, zeros }, copy) => {
          const bias = r.bias && (r.bias !== l.bias || mem.keepInModel) ? copy(r.bias) : r.bias;
          return { r: { ...r, weight: copy(r.weight), bias }, zeros };
        })
      : prune();
    model.setLinear(name, r.weight, r.bias);
    layers.push({
      name,
      block: i,
      method: r.method,
      sparsity: r.weight.size ? resolveSparsity(parsePattern(opts.pattern), sparsity) : 0,
      zeros: zeros / r.weight.size,
      params: r.weight.size,
      biasCorrected: r.biasCorrected,
      mse: null,
      cosine: null,
      seconds: now() - t0,
    });
  }
  return { layers, dense };
}

export function summarise(
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
export function weightedZeros(layers: LayerReport[]): number {
  let p = 0;
  let z = 0;
  for (const l of layers) {
    p += l.params;
    z += l.zeros * l.params;
  }
  return p ? z / p : 0;
}

/**
 * Each block's sparsity: the given per-block ones, an OWL allocation of `target` from `ratios` (the blocks' outlier
 * ratios, computed only when OWL is asked for), or `opts.sparsity` everywhere.
 */
export function blockSparsities(
  model: PrunableModel,
  opts: PruneOptions,
  target: number,
  ratios: (o: OwlOptions) => number[],
): { sparsities: (number | undefined)[]; owl?: PruneReport['owl'] } {
  if (opts.sparsities) return { sparsities: [...opts.sparsities] };
  if (!opts.owl) return { sparsities: new Array(model.numBlocks).fill(opts.sparsity) };
  const o = owlOpts(opts.owl);
  const r = ratios(o);
  const params = Array.from({ length: model.numBlocks }, (_, i) => blockParams(model, i));
  const sparsities = owlAllocation(r, params, target, o);
  return { sparsities, owl: { ratios: r, sparsities } };
}

/** OWL outlier ratios of every block from a dense pass over the windows (per-column scaler only). */
function owlRatiosDense(
  model: PrunableModel,
  windows: readonly Int32Array[],
  o: OwlOptions,
  mem: DriverMemory,
  onProgress?: PruneOptions['onProgress'],
): number[] {
  const { hs } = mem.hidden(model, windows);
  const ratios: number[] = [];
  for (let i = 0; i < model.numBlocks; i++) {
    onProgress?.({ phase: 'owl', block: i, blocks: model.numBlocks });
    mem.eachBlock(() => {
      const c = new StatsCollector();
      for (const h of hs) into(model.block(i, h, { tap: c.tap, out: h }), h);
      ratios.push(
        outlierRatio(
          model.linearNames(i).map((n) => ({ weight: model.getLinear(n).weight, stats: c.get(n) })),
          o.m ?? 5,
        ),
      );
      model.releaseBlock?.(i);
    });
  }
  mem.run.reset();
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
  const mem = new DriverMemory(!opts.sink || !model.dropBlock);
  try {
    return sequential(model, windows, opts, target, mem, t0);
  } finally {
    mem.dispose();
  }
}

function sequential(
  model: PrunableModel,
  windows: readonly Int32Array[],
  opts: PruneOptions,
  target: number,
  mem: DriverMemory,
  t0: number,
): PruneReport {
  const needs = methodNeeds(opts.method);
  const B = model.numBlocks;
  const { sparsities, owl } = blockSparsities(model, opts, target, (o) =>
    owlRatiosDense(model, windows, o, mem, opts.onProgress),
  );
  const metricWindows = Math.min(windows.length, opts.layerMetricWindows ?? 2);
  // hs: each window's input to the current block [T, hidden]; denseOut: its dense output (driver-owned, reused)
  const { hs, alt: denseOut } = mem.hidden(model, windows);
  const blocks: BlockReport[] = [];
  const layers: LayerReport[] = [];
  for (let i = 0; i < B; i++) {
    const tb = now();
    const { lr, blockMeter } = mem.eachBlock(() => {
      opts.onProgress?.({ phase: 'stats', block: i, blocks: B });
      const collector = needs.stats ? new StatsCollector({ hessian: needs.hessian }) : null;
      for (let k = 0; k < hs.length; k++) {
        const tap = collector ? { tap: collector.tap } : {};
        into(model.block(i, hs[k]!, { ...tap, out: denseOut[k] }), denseOut[k]!);
      }
      const stats = (n: string) => (collector ? collector.get(n) : null);
      const { layers: lr, dense } = pruneBlock(model, i, stats, sparsities[i], opts, mem);
      // Rerun with the pruned weights (in place: the outputs are the next block's inputs); measure block error
      // and, on the first windows, each layer's own error.
      opts.onProgress?.({ phase: 'rerun', block: i, blocks: B });
      const layerErr = new LayerErrorTap(model, dense);
      const blockMeter = new ErrorMeter();
      for (let k = 0; k < hs.length; k++) {
        const h = hs[k]!;
        into(model.block(i, h, k < metricWindows ? { tap: layerErr.tap, out: h } : { out: h }), h);
        blockMeter.addTensors(denseOut[k]!, h);
      }
      layerErr.dispose();
      const errs = layerErr.results();
      for (const l of lr) {
        const e = errs.get(l.name);
        if (e) {
          l.mse = e.mse;
          l.cosine = e.cosine;
        }
      }
      // Hand the block off before the block arena is reset: the sink writes it, the model forgets it.
      if (opts.sink) {
        opts.sink({ index: i, layers: model.linearNames(i).map((n) => model.getLinear(n)) });
        if (model.dropBlock) model.dropBlock(i);
        else model.releaseBlock?.(i);
      } else model.releaseBlock?.(i);
      return { lr, blockMeter };
    });
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
