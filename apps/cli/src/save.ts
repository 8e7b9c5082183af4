import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Tensor } from '@stade/tensor';
import { writeSafetensors } from '@stade/transformer';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { tempPrefix } from './temp.js';

/** What saving needs from a model (a structural subset of @stade/transformer's CausalLM). */
export interface SavableModel {
  modelType: string;
  numBlocks: number;
  linearNames(i: number): string[];
  tensors(): Iterable<{ name: string; tensor: Tensor }>;
}

/** The dtypes a pruned model is written in. */
export type SaveDtype = 'F32' | 'F16' | 'BF16';

const DTYPE_BYTES: Record<SaveDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Files copied verbatim from the source folder when present. */
export const COPIED_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'generation_config.json',
];

/**
 * Checks `out` can be written, BEFORE any work: an existing path needs `overwrite` (and must be a
 * folder), the parent folder must exist and accept new entries (probed by creating and removing a folder).
 */
export function checkOutput(out: string, overwrite: boolean): void {
  const abs = resolve(out);
  if (existsSync(abs)) {
    if (!overwrite) throw new CliError(`output folder ${out} already exists (add --overwrite to replace it)`);
    if (!statSync(abs).isDirectory()) throw new CliError(`output path ${out} exists and is not a folder`);
  }
  const parent = dirname(abs);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(parent);
  } catch {
    throw new CliError(`cannot create output folder ${out}: parent folder ${parent} does not exist`);
  }
  if (!st.isDirectory()) throw new CliError(`cannot create output folder ${out}: ${parent} is not a folder`);
  try {
    rmdirSync(mkdtempSync(join(parent, '.stade-probe-')));
  } catch (e) {
    throw new CliError(
      `cannot create output folder ${out}: ${parent} is not writable (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** Linear-layer suffix groups whose biases a config flag declares, per architecture. */
const BIAS_FLAGS: Record<string, { flag: string; suffixes: string[] }[]> = {
  llama: [
    {
      flag: 'attention_bias',
      suffixes: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj'],
    },
    { flag: 'mlp_bias', suffixes: ['mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'] },
  ],
  opt: [
    {
      flag: 'enable_bias',
      suffixes: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj', 'fc1', 'fc2'],
    },
  ],
};

/**
 * Adds the tensors and config flags a Hugging Face loader needs for biases that pruning created (STADE's
 * bias correction gives bias-free layers a bias): when any layer of a group has a bias, the group's flag
 * is set to true and every layer of the group without a bias gets a zero bias. Returns warnings for
 * architectures that cannot declare such biases.
 */
export function declareBiases(
  model: SavableModel,
  config: Record<string, unknown>,
  tensors: Map<string, Tensor>,
): string[] {
  const warnings: string[] = [];
  const linears: string[] = [];
  for (let i = 0; i < model.numBlocks; i++) linears.push(...model.linearNames(i));
  const groups = BIAS_FLAGS[model.modelType];
  const covered = new Set<string>();
  for (const g of groups ?? []) {
    const members = linears.filter((n) => g.suffixes.some((s) => n.endsWith(`.${s}`)));
    for (const n of members) covered.add(n);
    if (!members.some((n) => tensors.has(`${n}.bias`))) continue;
    if (config[g.flag] !== true) config[g.flag] = true;
    for (const n of members) {
      if (tensors.has(`${n}.bias`)) continue;
      const w = tensors.get(`${n}.weight`);
      if (!w) throw new CliError(`cannot save: tensor ${n}.weight is missing from the model`);
      tensors.set(`${n}.bias`, Tensor.zeros([w.shape[0]!]));
    }
  }
  const undeclared = linears.filter((n) => !covered.has(n) && tensors.has(`${n}.bias`));
  if (undeclared.length > 0 && model.modelType !== 'qwen2') {
    warnings.push(
      `${model.modelType} has no config flag for linear biases; transformers may ignore ${undeclared[0]}.bias and ${undeclared.length - 1} more`,
    );
  } else if (model.modelType === 'qwen2') {
    const extra = undeclared.filter((n) => !/self_attn\.[qkv]_proj$/.test(n));
    if (extra.length > 0)
      warnings.push(
        `qwen2 declares biases only for q/k/v; transformers may ignore ${extra[0]}.bias and ${extra.length - 1} more`,
      );
  }
  return warnings;
}

/** Splits tensors into shards of at most `maxBytes` (a tensor larger than that gets a shard of its own). */
export function planShards(sizes: readonly { name: string; bytes: number }[], maxBytes: number): string[][] {
  const shards: string[][] = [];
  let cur: string[] = [];
  let curBytes = 0;
  for (const { name, bytes } of sizes) {
    if (cur.length > 0 && curBytes + bytes > maxBytes) {
      shards.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(name);
    curBytes += bytes;
  }
  if (cur.length > 0) shards.push(cur);
  return shards;
}

/** Options of `saveModel`. */
export interface SaveOptions {
  /** The folder the model was loaded from (config and tokenizer files are copied from it). */
  sourceDir: string;
  out: string;
  dtype: SaveDtype;
  /** Shard size limit in bytes. */
  maxShardBytes: number;
  /** The model card (README.md). */
  card: string;
  overwrite: boolean;
}

/**
 * Writes `model` as a Hugging Face folder, atomically: everything goes to a temporary folder beside `out`
 * that is renamed into place at the end; on any error the temporary folder is removed. Returns warnings.
 */
export function saveModel(model: SavableModel, opts: SaveOptions, io: Io): string[] {
  const out = resolve(opts.out);
  checkOutput(out, opts.overwrite);
  const tmp = mkdtempSync(join(dirname(out), `${tempPrefix(out)}-`));
  io.tempCreated(tmp);
  try {
    chmodSync(tmp, 0o755); // mkdtemp creates 0700; the saved model is an ordinary folder
    const warnings = writeFolder(model, opts, tmp);
    if (existsSync(out)) {
      const old = `${tmp}-old`;
      renameSync(out, old);
      renameSync(tmp, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, out);
    }
    return warnings;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    io.tempDone(tmp);
  }
}

function writeFolder(model: SavableModel, opts: SaveOptions, dir: string): string[] {
  const configPath = join(opts.sourceDir, 'config.json');
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new CliError(`cannot copy ${configPath}: ${(e as Error).message}`);
  }
  const tensors = new Map<string, Tensor>();
  for (const { name, tensor } of model.tensors()) tensors.set(name, tensor);
  const warnings = declareBiases(model, config, tensors);

  const names = [...tensors.keys()];
  const bytesOf = (n: string) => tensors.get(n)!.size * DTYPE_BYTES[opts.dtype];
  const shards = planShards(
    names.map((name) => ({ name, bytes: bytesOf(name) })),
    opts.maxShardBytes,
  );
  const write = (file: string, shard: string[]) =>
    writeSafetensors(
      join(dir, file),
      shard.map((name) => {
        const t = tensors.get(name)!;
        return { name, dtype: opts.dtype, shape: t.shape, data: t };
      }),
    );
  if (shards.length === 1) {
    write('model.safetensors', shards[0]!);
  } else {
    const n = shards.length;
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, k) => {
      const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
      write(file, shard);
      for (const name of shard) weightMap[name] = file;
    });
    const sorted = Object.fromEntries(
      Object.keys(weightMap)
        .sort()
        .map((k) => [k, weightMap[k]!]),
    );
    const total = names.reduce((a, nm) => a + bytesOf(nm), 0);
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      `${JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2)}\n`,
    );
  }
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const f of COPIED_FILES) {
    const src = join(opts.sourceDir, f);
    if (existsSync(src)) copyFileSync(src, join(dir, f));
  }
  writeFileSync(join(dir, 'README.md'), opts.card);
  return warnings;
}
