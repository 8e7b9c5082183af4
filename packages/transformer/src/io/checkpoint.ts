import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fmtShape, type HalfTensor, type Tensor } from '@stade/tensor';
import { type ModelConfig, normalizeConfig } from '../config.js';
import { CheckpointError, ConfigError, fmtValue } from '../errors.js';
import type { SafetensorsDtype } from './dtypes.js';
import type { TensorInfo } from './header.js';
import { fsError, SafetensorsFile } from './safetensors.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** A tensor's header entry plus the shard file holding it. */
export interface CheckpointTensorInfo extends TensorInfo {
  readonly file: string;
}

/** Reads a JSON file that must hold an object; errors (of class `Err`) name the file. */
export function readJsonObject(
  file: string,
  Err: typeof CheckpointError | typeof ConfigError = CheckpointError,
): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const base = fsError(e, file, 'read');
    throw new Err(base.message, { file }, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Err(`${file}: invalid JSON (${e instanceof Error ? e.message : String(e)})`, { file });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Err(`${file}: expected a JSON object, got ${fmtValue(json, 40)}`, { file });
  }
  return json as Record<string, unknown>;
}

/**
 * The folder shard files must resolve into: the model folder itself or, for a Hugging Face hub cache snapshot
 * (`<repo>/snapshots/<revision>`, whose files are symlinks into `<repo>/blobs`), the repo's cache folder.
 */
function containmentRoot(realDir: string): string {
  const parent = nodePath.dirname(realDir);
  const repo = nodePath.dirname(parent);
  if (nodePath.basename(parent) === 'snapshots' && nodePath.basename(repo).startsWith('models--')) return repo;
  return realDir;
}

const inside = (root: string, p: string): boolean => {
  const rel = nodePath.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !nodePath.isAbsolute(rel);
};

/** Resolves a shard file name from an index to a path inside `dir`, refusing anything that leaves it. */
export function resolveShard(dir: string, name: string, indexFile: string, key: string): string {
  const fail = (why: string): never => {
    throw new CheckpointError(`${indexFile}: shard file ${fmtValue(name)} of tensor ${fmtValue(key)} ${why}`, {
      file: indexFile,
      key,
    });
  };
  if (name === '' || name.includes('\0')) fail('is not a valid file name');
  if (nodePath.isAbsolute(name) || nodePath.win32.isAbsolute(name))
    fail('is an absolute path; shards must stay inside the model folder');
  if (name.split(/[\\/]/).includes('..')) fail('leaves the model folder');
  const full = nodePath.resolve(dir, name);
  if (!inside(nodePath.resolve(dir), full)) fail('leaves the model folder');
  return full;
}

/** Fails when `file` (inside `dir` by name) is a symlink resolving outside the folder. */
function checkRealPath(dir: string, file: string, from: string, key?: string): void {
  let real: string;
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
    real = fs.realpathSync(file);
  } catch (e) {
    const err = fsError(e, file, 'open');
    throw new CheckpointError(
      `${err.message}${key !== undefined ? ` (needed for tensor ${fmtValue(key)} by ${from})` : ''}`,
      {
        file,
        key,
      },
    );
  }
  if (!inside(containmentRoot(realDir), real)) {
    throw new CheckpointError(`${file}: is a symlink to ${real}, outside the model folder ${dir}`, { file, key });
  }
}

/**
 * A Hugging Face model folder: `config.json` plus `model.safetensors` or `model.safetensors.index.json` and
 * its shards. Every header is validated at open; tensors are read lazily, one at a time, as float32.
 */
export class Checkpoint {
  /** The raw config.json object. */
  readonly config: Record<string, unknown>;
  /** Path of config.json. */
  readonly configPath: string;
  /** The weight files (one, or the shards in index order). */
  readonly files: readonly SafetensorsFile[];
  /** The index file when the weights are sharded, else null. */
  readonly indexPath: string | null;
  private readonly where: Map<string, SafetensorsFile>;
  private normalized: ModelConfig | null = null;

  private constructor(
    readonly dir: string,
    config: Record<string, unknown>,
    files: SafetensorsFile[],
    where: Map<string, SafetensorsFile>,
    indexPath: string | null,
  ) {
    this.config = config;
    this.configPath = nodePath.join(dir, CONFIG_FILE);
    this.files = files;
    this.where = where;
    this.indexPath = indexPath;
  }

  /** Opens and validates a model folder; throws CheckpointError/ConfigError naming the file and key. */
  static open(dir: string): Checkpoint {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch (e) {
      throw fsError(e, dir, 'open the model folder');
    }
    if (!st.isDirectory())
      throw new CheckpointError(`${dir}: not a folder (expected a Hugging Face model folder)`, { file: dir });
    const config = readJsonObject(nodePath.join(dir, CONFIG_FILE), ConfigError);
    const single = nodePath.join(dir, WEIGHTS_FILE);
    const index = nodePath.join(dir, INDEX_FILE);
    if (fs.existsSync(single)) {
      checkRealPath(dir, single, dir);
      const f = SafetensorsFile.open(single);
      const where = new Map<string, SafetensorsFile>();
      for (const name of f.names()) where.set(name, f);
      return new Checkpoint(dir, config, [f], where, null);
    }
    if (fs.existsSync(index)) return Checkpoint.openSharded(dir, config, index);
    const hint = fs.existsSync(nodePath.join(dir, 'pytorch_model.bin'))
      ? ' (pytorch_model.bin is not supported: convert it to safetensors)'
      : '';
    throw new CheckpointError(`${dir}: no ${WEIGHTS_FILE} or ${INDEX_FILE} found${hint}`, { file: single });
  }

  private static openSharded(dir: string, config: Record<string, unknown>, index: string): Checkpoint {
    const json = readJsonObject(index, CheckpointError);
    const map: unknown = Object.getOwnPropertyDescriptor(json, 'weight_map')?.value;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      throw new CheckpointError(`${index}: weight_map must be an object of tensor name -> shard file`, {
        file: index,
        key: 'weight_map',
      });
    }
    const byShard = new Map<string, string[]>();
    for (const key of Object.keys(map)) {
      const shard: unknown = Object.getOwnPropertyDescriptor(map, key)?.value;
      if (key === '__proto__' || key === '__metadata__' || key === '') {
        throw new CheckpointError(`${index}: weight_map: forbidden tensor name ${fmtValue(key)}`, { file: index, key });
      }
      if (typeof shard !== 'string') {
        throw new CheckpointError(
          `${index}: weight_map entry of ${fmtValue(key)} must be a file name, got ${fmtValue(shard)}`,
          {
            file: index,
            key,
          },
        );
      }
      const path = resolveShard(dir, shard, index, key);
      const list = byShard.get(path);
      if (list) list.push(key);
      else byShard.set(path, [key]);
    }
    if (byShard.size === 0)
      throw new CheckpointError(`${index}: weight_map is empty`, { file: index, key: 'weight_map' });
    const files: SafetensorsFile[] = [];
    const where = new Map<string, SafetensorsFile>();
    try {
      for (const [path, keys] of byShard) {
        checkRealPath(dir, path, index, keys[0]);
        const f = SafetensorsFile.open(path);
        files.push(f);
        for (const key of keys) {
          if (!f.has(key)) {
            throw new CheckpointError(
              `${index}: tensor ${fmtValue(key)} is mapped to ${path}, which does not contain it`,
              {
                file: path,
                key,
              },
            );
          }
          where.set(key, f);
        }
      }
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    return new Checkpoint(dir, config, files, where, index);
  }

  /** The config normalised for its model_type (throws ConfigError on a missing or bad key). */
  get modelConfig(): ModelConfig {
    this.normalized ??= normalizeConfig(this.config, this.configPath);
    return this.normalized;
  }

  /** Tensor names (header order, shard by shard). */
  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  /** dtype, shape, offsets and file of a tensor; throws CheckpointError naming a missing key. */
  info(name: string): CheckpointTensorInfo {
    const f = this.fileOf(name);
    return { ...f.info(name), file: f.path };
  }

  /** The tensor as float32 (read from disk now; nothing is cached). */
  get(name: string): Tensor {
    return this.fileOf(name).read(name);
  }

  /** The safetensors file holding a tensor (for raw byte access). */
  file(name: string): SafetensorsFile {
    return this.fileOf(name);
  }

  /** The tensor in its stored form (HalfTensor for F16/BF16, else float32), read into `reuse` when given. */
  getStored(name: string, reuse?: Float32Array | Uint16Array): Tensor | HalfTensor {
    return this.fileOf(name).readStored(name, reuse);
  }

  /** Every read returns a buffer the caller owns. */
  readonly freshReads = true;

  /** Like `get`, but first checks the stored shape equals `shape`, naming the key and both shapes otherwise. */
  require(name: string, shape: readonly number[]): Tensor {
    const info = this.info(name);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `${info.file}: tensor ${fmtValue(name)} has shape ${fmtShape(info.shape)}, expected ${fmtShape(shape)}`,
        { file: info.file, key: name },
      );
    }
    return this.get(name);
  }

  /** The float dtype holding most parameters (what a saved copy should use by default). */
  get dtype(): SafetensorsDtype {
    const count = new Map<SafetensorsDtype, number>();
    for (const [name, f] of this.where) {
      const t = f.info(name);
      count.set(t.dtype, (count.get(t.dtype) ?? 0) + t.shape.reduce((a, d) => a * d, 1));
    }
    let best: SafetensorsDtype = 'F32';
    let bestN = -1;
    for (const [d, n] of count) {
      const isFloat = d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64';
      if (isFloat && n > bestN) {
        best = d;
        bestN = n;
      }
    }
    return best;
  }

  /** Closes every shard's descriptor (reads reopen them). */
  close(): void {
    for (const f of this.files) f.close();
  }

  private fileOf(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (!f) {
      throw new CheckpointError(`${this.dir}: checkpoint has no tensor named ${fmtValue(name)}`, {
        file: this.indexPath ?? nodePath.join(this.dir, WEIGHTS_FILE),
        key: name,
      });
    }
    return f;
  }
}
