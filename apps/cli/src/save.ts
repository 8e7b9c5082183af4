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
import { type Checkpoint, type FloatDtype, SafetensorsWriter } from '@stade/transformer';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { tempPrefix } from './temp.js';

/** What saving needs from a model (a structural subset of @stade/transformer's CausalLM). */
export interface SavableModel {
  modelType: string;
  numBlocks: number;
  linearNames(i: number): string[];
  linearInfo(name: string): { out: number; in: number; bias: boolean };
  tensorKeys(): { name: string; key: string }[];
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
 * Declares biases that pruning creates (STADE's bias correction gives bias-free layers a bias) the way a Hugging
 * Face loader needs: when any layer of a group is in `withBias`, the group's config flag is set to true and every
 * layer of the group is added to `withBias` (they get zero biases). Returns warnings for architectures that cannot
 * declare such biases.
 */
export function declareBiases(
  model: Pick<SavableModel, 'modelType' | 'numBlocks' | 'linearNames'>,
  config: Record<string, unknown>,
  withBias: Set<string>,
  stored: ReadonlySet<string> = new Set(),
): string[] {
  const warnings: string[] = [];
  const linears: string[] = [];
  for (let i = 0; i < model.numBlocks; i++) linears.push(...model.linearNames(i));
  const covered = new Set<string>();
  for (const g of BIAS_FLAGS[model.modelType] ?? []) {
    const members = linears.filter((n) => g.suffixes.some((s) => n.endsWith(`.${s}`)));
    for (const n of members) covered.add(n);
    if (!members.some((n) => withBias.has(n))) continue;
    if (config[g.flag] !== true) config[g.flag] = true;
    for (const n of members) withBias.add(n);
  }
  const undeclared = linears.filter((n) => !covered.has(n) && withBias.has(n) && !stored.has(n));
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

/** The part of SafetensorsWriter the saver uses (tests inject failing ones). */
export interface TensorWriter {
  write(name: string, data: Float32Array | Tensor): void;
  copyFrom(name: string, src: ReturnType<Checkpoint['file']>, srcName: string): void;
  commit(): void;
  abort(): void;
}

/** Creates the writer of one shard file (default: `SafetensorsWriter.create`). */
export type WriterFactory = (
  path: string,
  specs: readonly { name: string; dtype: FloatDtype; shape: readonly number[] }[],
) => TensorWriter;

/** Options of `ModelSaver.begin`. */
export interface SaveOptions {
  /** The checkpoint the model was loaded from (untouched tensors are copied from it; config and tokenizer too). */
  ckpt: Checkpoint;
  out: string;
  dtype: SaveDtype;
  /** Shard size limit in bytes. */
  maxShardBytes: number;
  overwrite: boolean;
  /** Linear layers that will carry a bias in the output (they have one, or pruning will add one). */
  biases: ReadonlySet<string>;
  createWriter?: WriterFactory;
}

/** A pruned linear layer handed to `writeLayer` (float32). */
export interface SavedLayer {
  name: string;
  weight: Tensor;
  bias: Tensor | null;
}

/**
 * Writes a pruned model as a Hugging Face folder while it is being pruned: `begin` plans every tensor and shard
 * up front in a temporary folder beside `out` and copies the untouched tensors (embeddings, norms, lm_head) byte
 * for byte; `writeLayer` writes each pruned linear layer as soon as its block is done; `finish` completes the
 * files (the folder can then be loaded from `dir`); `publish` renames it to `out`. `abort` (also on any error)
 * removes the temporary folder, so a failed run leaves no output. A run killed outright leaves only the
 * temporary folder, which the next run on the same `out` removes (`removeStaleTemps`).
 */
export class ModelSaver {
  private readonly writers = new Map<string, TensorWriter>(); // shard file -> writer
  private readonly shardOf = new Map<string, string>(); // tensor name -> shard file
  private readonly fromSource = new Map<string, string>(); // linear bias name -> source key (stored, unannounced)
  private readonly linears = new Set<string>();
  /** Output tensors in order: name, source key (null for a new zero-or-pruned bias), shape, pruned layer or not. */
  private readonly entries: { name: string; key: string | null; shape: readonly number[]; linear: boolean }[] = [];
  private readonly config: Record<string, unknown>;
  private done = false;
  readonly warnings: string[];

  private constructor(
    private readonly opts: SaveOptions,
    readonly dir: string,
    private readonly io: Io,
    private readonly model: SavableModel,
  ) {
    const configPath = join(opts.ckpt.dir, 'config.json');
    try {
      this.config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`cannot copy ${configPath}: ${(e as Error).message}`);
    }
    const withBias = new Set(opts.biases);
    const stored = new Set<string>();
    for (let i = 0; i < model.numBlocks; i++) {
      for (const n of model.linearNames(i)) {
        this.linears.add(n);
        if (model.linearInfo(n).bias) stored.add(n);
      }
    }
    this.warnings = declareBiases(model, this.config, withBias, stored);
    this.plan(withBias);
  }

  /** Checks `out`, creates the temporary folder and the shard files, and copies the untouched tensors. */
  static begin(model: SavableModel, opts: SaveOptions, io: Io): ModelSaver {
    const out = resolve(opts.out);
    checkOutput(out, opts.overwrite);
    const tmp = mkdtempSync(join(dirname(out), `${tempPrefix(out)}-`));
    io.tempCreated(tmp);
    let saver: ModelSaver | null = null;
    try {
      chmodSync(tmp, 0o755); // mkdtemp creates 0700; the saved model is an ordinary folder
      saver = new ModelSaver({ ...opts, out }, tmp, io, model);
      saver.copyUntouched();
      return saver;
    } catch (e) {
      if (saver) saver.abort();
      else {
        rmSync(tmp, { recursive: true, force: true });
        io.tempDone(tmp);
      }
      throw e;
    }
  }

  private plan(withBias: ReadonlySet<string>): void {
    const { ckpt } = this.opts;
    for (const { name, key } of this.model.tensorKeys()) {
      const base = name.replace(/\.(weight|bias)$/, '');
      const isLinear = this.linears.has(base);
      if (isLinear && name.endsWith('.bias')) this.fromSource.set(base, key);
      this.entries.push({ name, key, shape: ckpt.info(key).shape, linear: isLinear });
      if (isLinear && name.endsWith('.weight') && withBias.has(base) && !ckpt.has(`${key.slice(0, -7)}.bias`)) {
        this.entries.push({ name: `${base}.bias`, key: null, shape: [this.model.linearInfo(base).out], linear: true });
      }
    }
    const bytes = DTYPE_BYTES[this.opts.dtype];
    const sizes = this.entries.map((e) => ({ name: e.name, bytes: e.shape.reduce((a, d) => a * d, 1) * bytes }));
    const shards = planShards(sizes, this.opts.maxShardBytes);
    const byName = new Map(this.entries.map((e) => [e.name, e]));
    const create = this.opts.createWriter ?? ((p, specs) => SafetensorsWriter.create(p, specs));
    const n = shards.length;
    shards.forEach((shard, k) => {
      const file =
        n === 1
          ? 'model.safetensors'
          : `model-${String(k + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
      const specs = shard.map((name) => ({ name, dtype: this.opts.dtype, shape: byName.get(name)!.shape }));
      this.writers.set(file, create(join(this.dir, file), specs));
      for (const name of shard) this.shardOf.set(name, file);
    });
  }

  private writer(name: string): TensorWriter {
    const file = this.shardOf.get(name);
    if (!file) throw new CliError(`cannot save: tensor ${name} is not in the planned output`);
    return this.writers.get(file)!;
  }

  private copyUntouched(): void {
    const { ckpt } = this.opts;
    for (const e of this.entries) if (!e.linear) this.writer(e.name).copyFrom(e.name, ckpt.file(e.key!), e.key!);
  }

  /** Writes one pruned linear layer (weight and, as planned, its bias: the given one, the stored one, or zeros). */
  writeLayer(layer: SavedLayer): void {
    const { name, weight, bias } = layer;
    this.writer(`${name}.weight`).write(`${name}.weight`, weight);
    const b = `${name}.bias`;
    if (!this.shardOf.has(b)) {
      if (bias) throw new CliError(`cannot save: ${name} gained a bias the output did not plan for`);
      return;
    }
    const key = this.fromSource.get(name);
    if (bias) this.writer(b).write(b, bias);
    else if (key !== undefined) this.writer(b).copyFrom(b, this.opts.ckpt.file(key), key);
    else this.writer(b).write(b, Tensor.zeros([weight.shape[0]!]));
  }

  /**
   * Completes the folder: commits every shard (each must be fully written), writes the index, config.json (with
   * the bias flags), the tokenizer files and the model card. The folder `dir` is then a loadable model.
   */
  finish(card: string): void {
    for (const w of this.writers.values()) w.commit();
    if (this.writers.size > 1) {
      const weightMap: Record<string, string> = {};
      for (const name of [...this.shardOf.keys()].sort()) weightMap[name] = this.shardOf.get(name)!;
      const total =
        this.entries.reduce((a, e) => a + e.shape.reduce((x, d) => x * d, 1), 0) * DTYPE_BYTES[this.opts.dtype];
      writeFileSync(
        join(this.dir, 'model.safetensors.index.json'),
        `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
      );
    }
    writeFileSync(join(this.dir, 'config.json'), `${JSON.stringify(this.config, null, 2)}\n`);
    for (const f of COPIED_FILES) {
      const src = join(this.opts.ckpt.dir, f);
      if (existsSync(src)) copyFileSync(src, join(this.dir, f));
    }
    this.card(card);
  }

  /** (Re)writes the model card. */
  card(text: string): void {
    writeFileSync(join(this.dir, 'README.md'), text);
  }

  /** Renames the finished folder to `out` (replacing an old one when overwriting). */
  publish(): void {
    const out = this.opts.out;
    try {
      if (existsSync(out)) {
        const old = `${this.dir}-old`;
        renameSync(out, old);
        renameSync(this.dir, out);
        rmSync(old, { recursive: true, force: true });
      } else {
        renameSync(this.dir, out);
      }
    } catch (e) {
      this.abort();
      throw new CliError(`cannot move the saved model to ${out}: ${(e as Error).message}`);
    }
    this.done = true;
    this.io.tempDone(this.dir);
  }

  /** Removes the temporary folder and everything in it (safe after publish or twice). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    for (const w of this.writers.values()) {
      try {
        w.abort();
      } catch {
        // the folder goes anyway
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.io.tempDone(this.dir);
  }
}
