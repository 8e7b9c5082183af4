/**
 * The building blocks of the command spec (spec.ts): the flag and command types, the value lists parsed at the
 * edge (methods, weight formats, bounds), the global flags and the flags several commands share.
 */
/** How a flag's value is read. `list` is a comma-separated list of strings. */
export type FlagType = 'string' | 'int' | 'number' | 'boolean' | 'list';

/** One command-line flag. */
export interface FlagSpec {
  /** Long name without the dashes, e.g. `sparsity`. */
  readonly name: string;
  readonly type: FlagType;
  /** Placeholder shown in help, e.g. `DIR`. */
  readonly metavar?: string;
  /** Parsed default; `undefined` means "none" (or computed, see `defaultText`). */
  readonly default?: string | number | boolean | readonly string[];
  /** How the default is shown in help when it is computed at run time (e.g. the embedded model). */
  readonly defaultText?: string;
  readonly help: string;
  /** Allowed values (for `string` and each element of `list`). */
  readonly choices?: readonly string[];
  /** Inclusive bounds for `int` / `number`. */
  readonly min?: number;
  readonly max?: number;
  /** The flag must be given. */
  readonly required?: boolean;
}

/** One sub-command. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  readonly examples: readonly string[];
}

/** The pruning methods of SPEC section 4 and 7. */
export const METHODS = [
  'magnitude',
  'random',
  'wanda',
  'stade',
  'stade-star',
  'stadew',
  'sparsegpt',
  'sparsegpt-noupdate',
] as const;
export type Method = (typeof METHODS)[number];

/** Load-time formats of the linear layers' weights (`auto` picks per layer; @stade/transformer WEIGHT_FORMATS). */
export const WEIGHT_FORMATS = ['auto', 'dense', 'f16', 'sparse'] as const;
export const weightsHelp =
  'linear weights: auto (per layer: 2:4 or sparse when pruned so, else as stored), dense (float32), f16 (16-bit), sparse (2:4 or unstructured packed)';

/** Upper bounds that protect against typos (a window count of a million is never meant). */
export const MAX_NSAMPLES = 65_536;
export const MAX_SEQLEN = 1_048_576;

/** Flags accepted by every command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  {
    name: 'threads',
    type: 'int',
    metavar: 'N',
    min: 1,
    max: 256,
    defaultText: 'all cores',
    help: 'worker threads for the tensor engine (also STADE_THREADS)',
  },
  { name: 'json', type: 'boolean', default: false, help: 'print exactly one JSON object on stdout' },
  { name: 'debug', type: 'boolean', default: false, help: 'print stack traces on errors' },
  { name: 'help', type: 'boolean', default: false, help: 'show help for the command' },
  { name: 'version', type: 'boolean', default: false, help: 'print the version' },
];

export const model: FlagSpec = {
  name: 'model',
  type: 'string',
  metavar: 'DIR',
  defaultText: 'models/stade-llama-tiny (embedded)',
  help: 'Hugging Face model folder (config.json, *.safetensors, tokenizer.json)',
};
export const seqlen: FlagSpec = {
  name: 'seqlen',
  type: 'int',
  metavar: 'N',
  min: 2,
  max: MAX_SEQLEN,
  defaultText: 'min(2048, max_position_embeddings)',
  help: 'tokens per window',
};
export const calib: FlagSpec = {
  name: 'calib',
  type: 'string',
  metavar: 'FILE|DIR',
  defaultText: 'models/text/calibration.txt (embedded)',
  help: 'calibration text: .txt, .jsonl (a "text" field per line) or a folder of .txt files',
};
export const nsamples = (dflt: number): FlagSpec => ({
  name: 'nsamples',
  type: 'int',
  metavar: 'N',
  min: 1,
  max: MAX_NSAMPLES,
  default: dflt,
  help: 'number of calibration windows',
});
export const sampling: FlagSpec = {
  name: 'sampling',
  type: 'string',
  metavar: 'MODE',
  choices: ['random', 'contiguous'],
  default: 'random',
  help: 'calibration windows: random (seeded, reference behaviour) or contiguous',
};
export const seed: FlagSpec = {
  name: 'seed',
  type: 'int',
  metavar: 'N',
  min: 0,
  max: 2 ** 32 - 1,
  default: 0,
  help: 'seed for calibration sampling and the random method',
};
export const group: FlagSpec = {
  name: 'group',
  type: 'string',
  metavar: 'G',
  choices: ['row', 'layer'],
  default: 'row',
  help: 'comparison group for unstructured masks: row (per output) or layer',
};
export const evalFile: FlagSpec = {
  name: 'eval',
  type: 'string',
  metavar: 'FILE',
  defaultText: 'models/text/eval.txt (embedded)',
  help: 'text for perplexity before and after pruning',
};
export const maxWindows = (dflt?: number): FlagSpec => ({
  name: 'max-windows',
  type: 'int',
  metavar: 'N',
  min: 1,
  ...(dflt === undefined ? { defaultText: 'all' } : { default: dflt }),
  help: 'evaluate perplexity on the first N windows only (faster, approximate)',
});
export const zeroshotFlags: FlagSpec[] = [
  {
    name: 'zeroshot',
    type: 'string',
    metavar: 'DIR',
    help: 'also measure zero-shot accuracy (as stade zeroshot --data DIR, on the task files found there) before and after',
  },
  {
    name: 'zeroshot-limit',
    type: 'int',
    metavar: 'N',
    min: 1,
    defaultText: 'all',
    help: 'first N documents per task for --zeroshot',
  },
];
export const html: FlagSpec = {
  name: 'html',
  type: 'string',
  metavar: 'FILE',
  help: 'also write an HTML report with SVG plots',
};
export const noBiasCorrection: FlagSpec = {
  name: 'no-bias-correction',
  type: 'boolean',
  default: false,
  help: "turn off STADE's bias correction",
};
export const owl: FlagSpec = {
  name: 'owl',
  type: 'boolean',
  default: false,
  help: 'outlier-weighted layerwise sparsity (OWL) instead of a uniform one',
};
