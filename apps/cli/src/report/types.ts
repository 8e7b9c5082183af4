import type { TaskResult } from '@stade/eval';
import type { BenchJson } from '../commands/bench.js';
import type { ZeroshotComparison } from '../commands/zeroshot.js';
/** Per-layer outcome of pruning (JSON field names are part of the CLI's contract). */
export interface LayerResult {
  name: string;
  /** Fraction of zero weights after pruning. */
  zeros: number;
  /** Mean squared error between the dense and the pruned output of the layer (null: not measured). */
  mse: number | null;
  /** Cosine similarity between the dense and the pruned output of the layer (null: not measured). */
  cosine: number | null;
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
  /** Fraction of zeros over all pruned weights. */
  zeros: number;
  seconds: number;
  /** Per block: zeros, and MSE / cosine between the dense and pruned block outputs. */
  blocks: { index: number; zeros: number; mse: number | null; cosine: number | null; seconds: number }[];
  layers: LayerResult[];
  warnings: string[];
  /** With --owl: each block's outlier ratio and allocated sparsity. */
  owlAllocation?: { ratios: number[]; sparsities: number[] };
  ppl?: { dense: number; pruned: number; windows: number; seqlen: number; data: string };
  /** Zero-shot accuracy before and after (`--zeroshot DIR`). */
  zeroshot?: ZeroshotComparison;
  /** Peak resident memory of the process in MB (null where the runtime cannot tell). */
  peakRssMb?: number | null;
  /** `--bench`: `stade bench` rows of the original and the saved model (`--weights auto`). */
  bench?: BenchJson;
}

/** One combination of a sweep. */
export interface SweepRow {
  method: string;
  pattern: string;
  sparsity: number;
  ppl: number;
  seconds: number;
  layers: LayerResult[];
  /** `--zeroshot DIR`: accuracy after this run. */
  zeroshot?: { mean_acc: number; tasks: Record<string, TaskResult> };
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
  /** `--zeroshot DIR`: accuracy of the dense model. */
  zeroshot?: { data: string; mean_acc: number; tasks: Record<string, TaskResult> };
  rows: SweepRow[];
  seconds: number;
}

/** `stade sweep --json`: one sweep per model. */
export interface SweepOutput {
  sweeps: SweepResult[];
  seconds: number;
}
