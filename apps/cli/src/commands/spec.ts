/**
 * The one declarative definition of every `stade` command and flag. It drives argument parsing
 * (args.ts), the `--help` output (help.ts) and the documentation site (exported as `COMMANDS`), so the
 * three cannot drift apart.
 */
import {
  type CommandSpec,
  calib,
  evalFile,
  group,
  html,
  MAX_NSAMPLES,
  MAX_SEQLEN,
  METHODS,
  maxWindows,
  model,
  noBiasCorrection,
  nsamples,
  owl,
  sampling,
  seed,
  seqlen,
  WEIGHT_FORMATS,
  weightsHelp,
  zeroshotFlags,
} from './flags.js';

export {
  type CommandSpec,
  type FlagSpec,
  type FlagType,
  GLOBAL_FLAGS,
  MAX_NSAMPLES,
  MAX_SEQLEN,
  METHODS,
  type Method,
  WEIGHT_FORMATS,
} from './flags.js';

/** Every command. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'eval',
    summary: 'measure perplexity on a text',
    description:
      'Joins the documents with "\\n\\n", tokenises once, cuts non-overlapping windows of --seqlen tokens ' +
      '(the remainder is dropped) and prints exp(mean next-token cross-entropy).',
    flags: [
      model,
      {
        name: 'data',
        type: 'string',
        metavar: 'FILE',
        defaultText: 'models/text/eval.txt (embedded)',
        help: 'evaluation text: .txt, .jsonl or a folder of .txt files',
      },
      seqlen,
      maxWindows(),
      {
        name: 'eval-mode',
        type: 'string',
        metavar: 'MODE',
        choices: ['auto', 'window', 'block'],
        default: 'auto',
        help:
          'window: each window through all blocks (weights stay cached); block: each block over all windows, ' +
          'one block of weights in memory; auto: block when the float32 weights exceed 2 GiB',
      },
    ],
    examples: [
      'stade eval --model ./opt-125m --data wikitext2-test.txt --seqlen 2048',
      'stade eval --json',
      'stade eval --model ./llama-7b --eval-mode block --max-windows 2',
    ],
  },
  {
    name: 'inspect',
    summary: 'show architecture, parameters, dtype and per-layer sparsity',
    description:
      'Reads a model folder and prints its architecture, parameter count, dtype and the fraction of zeros in every prunable linear layer.',
    flags: [model],
    examples: ['stade inspect --model ./opt-125m-stade-50', 'stade inspect --model ./tinyllama --json'],
  },
  {
    name: 'prune',
    summary: 'prune a model and save it as a Hugging Face folder',
    description:
      'Collects calibration statistics block by block, prunes every linear layer with the chosen method, ' +
      'optionally measures perplexity before and after, and saves the result atomically.',
    flags: [
      model,
      {
        name: 'method',
        type: 'string',
        metavar: 'M',
        choices: METHODS,
        required: true,
        help: 'pruning method',
      },
      {
        name: 'sparsity',
        type: 'number',
        metavar: 'S',
        defaultText: 'N/M for N:M patterns, else required',
        help: 'fraction of weights to remove, in [0, 1)',
      },
      {
        name: 'pattern',
        type: 'string',
        metavar: 'P',
        default: 'unstructured',
        help: 'unstructured, or N:M (prune N of every M consecutive inputs, e.g. 2:4, 4:8)',
      },
      group,
      owl,
      calib,
      nsamples(128),
      seqlen,
      sampling,
      seed,
      noBiasCorrection,
      {
        ...evalFile,
        defaultText: 'models/text/eval.txt when --model is omitted, else none',
        help: 'measure perplexity on this text before and after pruning',
      },
      maxWindows(),
      { name: 'out', type: 'string', metavar: 'DIR', required: true, help: 'output folder (written atomically)' },
      { name: 'overwrite', type: 'boolean', default: false, help: 'replace an existing --out folder' },
      {
        name: 'bench',
        type: 'boolean',
        default: false,
        help: 'after saving, measure prefill and decode speed of the original and the saved model (stade bench, --weights auto) and print the speedup',
      },
      {
        name: 'max-shard-mb',
        type: 'number',
        metavar: 'MB',
        min: 0.001,
        default: 2048,
        help: 'split the weights into shards of at most this size',
      },
      {
        name: 'dtype',
        type: 'string',
        metavar: 'D',
        choices: ['auto', 'f32', 'f16', 'bf16'],
        default: 'auto',
        help: "dtype of the saved weights (auto: the checkpoint's own)",
      },
      ...zeroshotFlags,
      html,
    ],
    examples: [
      'stade prune --model ./opt-125m --method stade --sparsity 0.5 --out ./opt-125m-stade-50',
      'stade prune --method wanda --pattern 2:4 --eval models/text/eval.txt --out ./llama-2-4 --json',
    ],
  },
  {
    name: 'sweep',
    summary: 'compare methods, sparsities and patterns in one run',
    description:
      'Prunes the model with every combination of method, sparsity and pattern, measures the perplexity of ' +
      'each, and prints a table (plus an optional HTML report). By default (--mode dense-stats) the ' +
      'calibration statistics are collected once from the dense model and shared by every run.',
    flags: [
      {
        ...model,
        type: 'list',
        metavar: 'DIR[,DIR]',
        defaultText: 'models/stade-llama-tiny,models/stade-opt-tiny (embedded)',
        help: 'one or more Hugging Face model folders (comma-separated), each swept in turn',
      },
      {
        name: 'methods',
        type: 'list',
        metavar: 'LIST',
        choices: METHODS,
        default: ['magnitude', 'wanda', 'stade', 'stadew', 'sparsegpt'],
        help: 'comma-separated methods',
      },
      {
        name: 'sparsities',
        type: 'list',
        metavar: 'LIST',
        default: ['0.5', '0.6', '0.7'],
        help: 'comma-separated sparsities for unstructured patterns',
      },
      {
        name: 'patterns',
        type: 'list',
        metavar: 'LIST',
        default: ['unstructured', '2:4'],
        help: 'comma-separated patterns (N:M patterns run once each, at N/M)',
      },
      {
        name: 'mode',
        type: 'string',
        metavar: 'MODE',
        choices: ['dense-stats', 'sequential'],
        default: 'dense-stats',
        help: 'dense-stats: one calibration pass on the dense model shared by every run; sequential: the full block-by-block driver per run (as stade prune)',
      },
      group,
      owl,
      calib,
      nsamples(32),
      seqlen,
      sampling,
      seed,
      noBiasCorrection,
      { ...evalFile, help: 'text for the perplexity of the dense model and of every run' },
      maxWindows(16),
      ...zeroshotFlags,
      html,
    ],
    examples: [
      'stade sweep',
      'stade sweep --model ./opt-125m --methods wanda,stade --sparsities 0.5,0.7 --patterns unstructured,2:4,4:8 --html sweep.html',
    ],
  },
  {
    name: 'generate',
    summary: 'generate text from a prompt (KV cache), with prefill and decode speed',
    description:
      'Tokenises --prompt, runs it through the model once (prefill), then produces one token per forward pass ' +
      'with a KV cache (decode), streaming the text as it is produced; stops at --max-new-tokens or the ' +
      "config's eos_token_id. Temperature 0 is greedy (ties to the lowest id); otherwise temperature, top-k and " +
      'top-p sampling, seeded. Ends with the prefill and decode speed in tokens/s.',
    flags: [
      model,
      { name: 'prompt', type: 'string', metavar: 'TEXT', required: true, help: 'the text to continue' },
      {
        name: 'max-new-tokens',
        type: 'int',
        metavar: 'N',
        min: 1,
        max: MAX_SEQLEN,
        default: 32,
        help: 'most tokens to generate',
      },
      {
        name: 'temperature',
        type: 'number',
        metavar: 'T',
        min: 0,
        max: 100,
        default: 0,
        help: '0: greedy; otherwise sample from softmax(logits / T)',
      },
      { name: 'top-k', type: 'int', metavar: 'K', min: 0, default: 0, help: 'sample among the K most likely (0: all)' },
      {
        name: 'top-p',
        type: 'number',
        metavar: 'P',
        min: 0,
        max: 1,
        default: 1,
        help: 'sample among the most likely tokens whose probability reaches P, in (0, 1] (1: all)',
      },
      { ...seed, help: 'seed of the sampling' },
      { name: 'weights', type: 'string', metavar: 'F', choices: WEIGHT_FORMATS, default: 'auto', help: weightsHelp },
    ],
    examples: [
      'stade generate --prompt "Call me Ishmael."',
      'stade generate --model ./opt-125m-2-4 --prompt "The capital of France is" --max-new-tokens 20 --json',
    ],
  },
  {
    name: 'analyze',
    summary: "measure the STADE paper's per-layer theory on a model before pruning",
    description:
      'One dense calibration pass, block by block. Per linear layer: how non-centred its inputs are ' +
      "(mean over columns of mean(x_j)^2 / E[x_j^2]), OWL's outlier share, the closed-form output error of the " +
      'Wanda and STADE masks at the given sparsity and pattern (sum W^2 E[x^2] and sum W^2 Var(x) over each ' +
      'pruned set, plus the exact cross terms between pruned columns, from X^T X), and both errors measured on ' +
      "held-out windows; per block, the output error each method leaves relative to every token's norm; a " +
      'recommendation (wanda, stade or stadew) per layer and for the model, with the reason.',
    flags: [
      { ...model, help: 'Hugging Face model folder to analyse' },
      calib,
      nsamples(32),
      {
        name: 'heldout',
        type: 'int',
        metavar: 'N',
        min: 0,
        max: MAX_NSAMPLES,
        default: 8,
        help: 'further calibration windows (same sampler, after the first --nsamples) on which the errors are measured',
      },
      seqlen,
      sampling,
      seed,
      {
        name: 'sparsity',
        type: 'number',
        metavar: 'S',
        defaultText: '0.5, or N/M for N:M patterns',
        help: 'fraction of weights the analysed masks remove, in [0, 1)',
      },
      {
        name: 'pattern',
        type: 'string',
        metavar: 'P',
        default: 'unstructured',
        help: 'unstructured, or N:M (e.g. 2:4)',
      },
      group,
      {
        name: 'no-cross',
        type: 'boolean',
        default: false,
        help: "skip the exact cross terms (no [in, in] X^T X per layer: far less memory on wide layers; shown as '-')",
      },
      html,
    ],
    examples: [
      'stade analyze --model models/stade-opt-tiny --sparsity 0.7',
      'stade analyze --model ./tinyllama --pattern 2:4 --calib c4.jsonl --json --html analyze.html',
    ],
  },
  {
    name: 'bench',
    summary: 'prefill and decode speed and memory of a model, or of two side by side',
    description:
      'Measures, in a fresh process per model and weight format, the prefill speed (a prompt of --prompt-tokens ' +
      'seeded random tokens, fastest of 3), the decode speed (the median of --new-tokens single-token steps with a ' +
      'KV cache after that prompt; before it, about 2 s of unmeasured single-token steps let the JavaScript engine ' +
      'finish compiling the decode path) and the peak resident memory, and prints them as a table with the ' +
      'speedups over the first row.',
    flags: [
      model,
      { name: 'compare', type: 'string', metavar: 'DIR', help: 'a second model folder measured the same way' },
      {
        name: 'weights',
        type: 'list',
        metavar: 'LIST',
        choices: WEIGHT_FORMATS,
        default: ['auto'],
        help: `${weightsHelp}; a list measures each in turn`,
      },
      {
        name: 'prompt-tokens',
        type: 'int',
        metavar: 'N',
        min: 1,
        max: MAX_SEQLEN,
        default: 128,
        help: 'prompt length for the prefill measurement',
      },
      {
        name: 'new-tokens',
        type: 'int',
        metavar: 'N',
        min: 1,
        max: MAX_SEQLEN,
        default: 32,
        help: 'decode steps measured after the prompt',
      },
    ],
    examples: [
      'stade bench --model ./opt-125m --compare ./opt-125m-2-4',
      'stade bench --model ./opt-125m --weights dense,f16 --prompt-tokens 128 --new-tokens 64 --json',
    ],
  },
  {
    name: 'zeroshot',
    summary: 'zero-shot accuracy as lm-evaluation-harness measures it',
    description:
      'Scores multiple-choice tasks (BoolQ, RTE, HellaSwag, WinoGrande, ARC-easy/challenge, OpenBookQA) with the ' +
      'prompts, tokenisation and log-likelihood scoring of lm-evaluation-harness v0.4.x on local .jsonl/.parquet files in ' +
      "the Hugging Face datasets' layout, and prints acc, acc_norm and their standard errors. Without --data: a small " +
      'embedded last-word task (LAMBADA-like) made from models/text/eval.txt.',
    flags: [
      model,
      {
        name: 'tasks',
        type: 'list',
        metavar: 'LIST',
        choices: ['boolq', 'rte', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge', 'openbookqa', 'choice'],
        defaultText: 'all seven with --data',
        help: 'comma-separated tasks',
      },
      {
        name: 'data',
        type: 'string',
        metavar: 'DIR',
        defaultText: 'the embedded last-word task',
        help: 'folder with one file per task: <task>.jsonl or <task>.parquet (boolq/rte/hellaswag/winogrande: validation split; arc/openbookqa: test)',
      },
      {
        name: 'task-file',
        type: 'list',
        metavar: 'NAME=FILE[,...]',
        help: 'the file of a task (overrides --data), e.g. hellaswag=./hellaswag/validation.parquet',
      },
      {
        name: 'limit',
        type: 'int',
        metavar: 'N',
        min: 1,
        defaultText: 'all',
        help: 'score the first N documents of each task',
      },
      {
        name: 'add-bos',
        type: 'boolean',
        default: false,
        help: "put the tokenizer's BOS token in front of every input (newer harness versions do for Llama)",
      },
      {
        name: 'max-length',
        type: 'int',
        metavar: 'N',
        min: 2,
        defaultText: 'max_position_embeddings',
        help: 'left-truncate inputs to N tokens',
      },
      {
        name: 'samples',
        type: 'string',
        metavar: 'FILE',
        help: 'write one JSON line per document: {task, doc, lls, gold, pred, pred_norm}',
      },
    ],
    examples: [
      'stade zeroshot --model ./opt-125m --data ./zeroshot-data',
      'stade zeroshot --model ./opt-125m --tasks hellaswag,arc_easy --data ./zeroshot-data --limit 200 --samples s.jsonl --json',
      'stade zeroshot',
    ],
  },
];

/** Looks a command up by name. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
