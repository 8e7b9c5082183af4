/** A method the analysis can recommend for a layer (wanda or stade) or a model (also stadew). */
export type Recommendation = 'wanda' | 'stade' | 'stadew';

/** Figures of one layer the per-layer rule reads. */
export interface LayerFigures {
  noncentred: number;
  predicted: { wanda: { diag: number; cross: number }; stade: { diag: number; cross: number } };
  /** Held-out output MSE of each method, or null when no held-out windows were given. */
  measured: { wanda: number; stade: number } | null;
}

const pct = (a: number, b: number): string => `${(Math.abs(1 - a / b) * 100).toFixed(1)}%`;
const total = (p: { diag: number; cross: number }): number => p.diag + (Number.isFinite(p.cross) ? p.cross : 0);

/**
 * Per layer: the method with the lower output error, measured on held-out windows when there are any, else the
 * exact in-sample closed form (independence part + cross terms). Equal errors go to wanda (no bias needed).
 */
export function recommendLayer(f: LayerFigures): { recommend: 'wanda' | 'stade'; reason: string } {
  const pw = total(f.predicted.wanda);
  const ps = total(f.predicted.stade);
  const nc = `non-centred ${f.noncentred.toFixed(3)}`;
  if (f.measured) {
    const { wanda: mw, stade: ms } = f.measured;
    const pred =
      ps < pw ? `predicted ${pct(ps, pw)} lower` : ps > pw ? `predicted ${pct(ps, pw)} higher` : 'predicted equal';
    if (ms < mw)
      return { recommend: 'stade', reason: `stade: held-out error ${pct(ms, mw)} lower than wanda's (${pred}; ${nc})` };
    if (ms > mw)
      return { recommend: 'wanda', reason: `wanda: stade's held-out error is ${pct(ms, mw)} higher (${pred}; ${nc})` };
    return { recommend: 'wanda', reason: `wanda: equal held-out errors (identical masks, no correction; ${nc})` };
  }
  if (ps < pw) return { recommend: 'stade', reason: `stade: predicted error ${pct(ps, pw)} lower (${nc})` };
  return { recommend: 'wanda', reason: `wanda: stade's predicted error is not lower (${nc})` };
}

/** Block-output errors relative to each token's norm, summed over blocks, per method. */
export interface ModelFigures {
  wanda: number;
  stade: number;
  stadew: number;
}

/**
 * Per model: the method whose pruned blocks give the lowest block-output error relative to each token's norm
 * (what the next block's LayerNorm/RMSNorm reads), summed over the blocks, measured on held-out windows. Ties go
 * to the method with fewer bias corrections (wanda, then stadew, then stade).
 */
export function recommendModel(f: ModelFigures, blocks: number): { recommend: Recommendation; reason: string } {
  const order: Recommendation[] = ['wanda', 'stadew', 'stade'];
  let best: Recommendation = 'wanda';
  for (const m of order) if (f[m] < f[best]) best = m;
  const figs = order.map((m) => `${m} ${f[m].toExponential(3)}`).join(', ');
  return {
    recommend: best,
    reason: `${best}: lowest block-output error relative to each token's norm, summed over ${blocks} blocks (${figs})`,
  };
}
