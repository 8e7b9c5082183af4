/** Per-layer outcome of pruning (JSON field names are part of the CLI's contract). */
export interface LayerResult {
  name: string;
  /** Fraction of zero weights after pruning. */
  zeros: number;
  /** Mean squared error between the dense and the pruned output. */
  mse: number;
  /** Cosine similarity between the dense and the pruned output. */
  cosine: number;
  seconds?: number;
}

/** The calibration recipe. */
export interface CalibInfo {
  source: string;
  nsamples: number;
  seqlen: number;
  sampling: string;
  seed: number;
  tokens: number;
}

/** `stade prune --json`. */
export interface PruneResult {
  model: string;
  out: string;
  method: string;
  sparsity: number;
  pattern: string;
  group: string;
  owl: boolean;
  biasCorrection: boolean;
  calibration: CalibInfo;
  dtype: string;
  seconds: number;
  layers: LayerResult[];
  ppl?: { dense: number; pruned: number; windows: number; seqlen: number; data: string };
}

/** One combination of a sweep. */
export interface SweepRow {
  method: string;
  pattern: string;
  sparsity: number;
  ppl: number;
  seconds: number;
  layers: LayerResult[];
}

/** `stade sweep --json`. */
export interface SweepResult {
  model: string;
  mode: string;
  group: string;
  owl: boolean;
  biasCorrection: boolean;
  calibration: CalibInfo;
  eval: { data: string; windows: number; seqlen: number };
  dense: number;
  rows: SweepRow[];
  seconds: number;
}
