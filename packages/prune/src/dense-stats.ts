import {
  type BlockReport,
  blockSparsities,
  type LayerReport,
  now,
  type PruneOptions,
  type PruneReport,
  pruneBlock,
  summarise,
  validate,
  weightedZeros,
} from './driver.js';
import { PruneError } from './errors.js';
import { DriverMemory, into } from './memory.js';
import type { PrunableModel } from './model.js';
import { outlierRatio } from './owl.js';
import { methodNeeds } from './prune-layer.js';
import { StatsCollector } from './stats.js';

// `dense-stats` mode: statistics from the dense model once, then pruning to several sparsities or methods. It
// holds every block's statistics by design (and the model's weights), so it is for models that fit in memory.

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
  const hs = windows.map((ids) => model.embed(ids)); // each [T, hidden], updated in place block after block
  const blocks: StatsCollector[] = [];
  for (let i = 0; i < model.numBlocks; i++) {
    opts.onProgress?.({ phase: 'stats', block: i, blocks: model.numBlocks });
    const c = new StatsCollector({ hessian: opts.hessian ?? false });
    for (const h of hs) into(model.block(i, h, { tap: c.tap, out: h }), h);
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
  const { sparsities, owl } = blockSparsities(model, opts, target, (o) =>
    stats.blocks.map((c, i) =>
      outlierRatio(
        model.linearNames(i).map((n) => ({ weight: model.getLinear(n).weight, stats: c.get(n) })),
        o.m ?? 5,
      ),
    ),
  );
  const blocks: BlockReport[] = [];
  const layers: LayerReport[] = [];
  // each layer's scores, masks and working copies are lent by a layer arena; the pruned weights stay in the model
  const mem = new DriverMemory(true);
  try {
    for (let i = 0; i < B; i++) {
      const tb = now();
      const c = stats.blocks[i]!;
      const { layers: lr } = pruneBlock(model, i, (n) => c.get(n), sparsities[i], opts, mem);
      const sp = lr.length ? lr[0]!.sparsity : 0;
      blocks.push({ index: i, sparsity: sp, zeros: weightedZeros(lr), mse: null, cosine: null, seconds: now() - tb });
      layers.push(...lr);
    }
  } finally {
    mem.dispose();
  }
  const rep = summarise('dense-stats', opts, target, stats.nsamples, t0, blocks, layers);
  if (owl) rep.owl = owl;
  return rep;
}
