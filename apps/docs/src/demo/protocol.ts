/** Messages between the demo page (main thread) and its pipeline worker. */

/** The reader's choices; the same names and meanings as `stade prune` flags. */
export interface DemoSettings {
  /** Folder name under demo-data/models/. */
  model: string;
  method: string;
  /** Ignored (implied) for N:M patterns. */
  sparsity: number;
  /** `unstructured` or `N:M`. */
  pattern: string;
  nsamples: number;
  seqlen: number;
  sampling: 'contiguous' | 'random';
  seed: number;
  /** Perplexity on the first N windows of the evaluation text only (`--max-windows`); 0 = all. */
  maxWindows: number;
  /** Documents of the embedded last-word task scored before and after pruning (`stade zeroshot --limit`); 0 = none. */
  zeroshotDocs: number;
}

/** Zero-shot accuracy of one model state on the embedded last-word task (as `stade zeroshot --samples`). */
export interface ZeroshotShown {
  acc: number;
  /** Per document: the log-likelihood of each choice, and acc's prediction. */
  lls: number[][];
  preds: number[];
}

/** What the page sends: where the site's static files are, and the settings. */
export interface RunRequest {
  kind: 'run';
  /** Absolute URL of the folder holding model/ and text/. */
  base: string;
  settings: DemoSettings;
}

export interface LayerRow {
  name: string;
  block: number;
  zeros: number;
  mse: number | null;
  cosine: number | null;
}

export interface DemoResult {
  model: string;
  modelType: string;
  method: string;
  pattern: string;
  sparsity: number;
  zeros: number;
  dense: number;
  pruned: number;
  evalWindows: number;
  seqlen: number;
  calibrationWindows: number;
  layers: LayerRow[];
  seconds: { load: number; dense: number; prune: number; pruned: number };
  /** The embedded last-word task before and after pruning, or null when zeroshotDocs is 0. */
  zeroshot: { task: string; n: number; dense: ZeroshotShown; pruned: ZeroshotShown } | null;
  threads: number;
  pool: { platform: string | null; workers: number; parallelCalls: number; inlineCalls: number };
  crossOriginIsolated: boolean;
}

export type WorkerMessage =
  | { kind: 'progress'; fraction: number; label: string }
  | { kind: 'result'; result: DemoResult }
  | { kind: 'error'; message: string };
