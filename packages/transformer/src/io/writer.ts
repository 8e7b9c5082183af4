import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fmtShape, Tensor } from '@stade/tensor';
import { CheckpointError, fmtValue } from '../errors.js';
import { encodeFromF32, type FloatDtype, isFloatDtype } from './dtypes.js';
import { planHeader, type TensorInfo } from './header.js';
import { fsError } from './safetensors.js';

/** A tensor to write: float32 values (row-major) or a Tensor, stored as `dtype`. */
export interface TensorEntry {
  name: string;
  dtype: FloatDtype;
  shape: readonly number[];
  data: Float32Array | Tensor;
}

/** Metadata written when none is given; transformers refuses files whose `format` is missing. */
export const DEFAULT_METADATA: Readonly<Record<string, string>> = Object.freeze({ format: 'pt' });

const WRITE_CHUNK = 1 << 30;
let tmpCounter = 0;

/** Flushes a folder's entries (so a rename survives a crash); best effort, some systems refuse it. */
function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported here (e.g. Windows): the rename itself is still atomic
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += fs.writeSync(fd, bytes, done, Math.min(WRITE_CHUNK, bytes.length - done), position + done);
    } catch (e) {
      throw fsError(e, file, 'write');
    }
  }
}

/**
 * A safetensors file written tensor by tensor: the header is computed up front from names, dtypes and shapes,
 * then each tensor is written at its offset in any order (so a pruned model can be saved block by block).
 * Data goes to a temporary file beside `path`, renamed over it by `commit()`; `abort()` removes it.
 */
export class SafetensorsWriter {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  private readonly tmp: string;
  private readonly dataStart: number;
  private readonly written = new Set<string>();
  private fd: number | null;

  private constructor(path: string, tmp: string, fd: number, dataStart: number, tensors: Map<string, TensorInfo>) {
    this.path = path;
    this.tmp = tmp;
    this.fd = fd;
    this.dataStart = dataStart;
    this.tensors = tensors;
  }

  /** Plans the layout and writes the header. `metadata` is merged over `{format: "pt"}`. */
  static create(
    path: string,
    specs: readonly { name: string; dtype: FloatDtype; shape: readonly number[] }[],
    metadata: Readonly<Record<string, string>> = {},
  ): SafetensorsWriter {
    for (const s of specs) {
      if (!isFloatDtype(s.dtype)) {
        throw new CheckpointError(
          `${path}: tensor ${fmtValue(s.name)}: cannot write dtype ${fmtValue(s.dtype)} (F32, F16 or BF16)`,
          {
            file: path,
            key: s.name,
          },
        );
      }
    }
    const plan = planHeader(specs, { ...DEFAULT_METADATA, ...metadata }, path);
    const tmp = nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.tmp-${process.pid}-${tmpCounter++}`);
    let fd: number;
    try {
      fd = fs.openSync(tmp, 'wx');
    } catch (e) {
      throw fsError(e, tmp, 'create');
    }
    const w = new SafetensorsWriter(path, tmp, fd, 8 + plan.header.length, plan.tensors);
    try {
      const len = new Uint8Array(8);
      new DataView(len.buffer).setBigUint64(0, BigInt(plan.header.length), true);
      writeAll(fd, len, 0, tmp);
      writeAll(fd, plan.header, 8, tmp);
      if (plan.dataLength > 0) fs.ftruncateSync(fd, w.dataStart + plan.dataLength);
    } catch (e) {
      w.abort();
      throw e instanceof CheckpointError ? e : fsError(e, tmp, 'write');
    }
    return w;
  }

  /** Writes one tensor's values (float32, row-major, or a Tensor of the planned shape) at its offset. */
  write(name: string, data: Float32Array | Tensor): void {
    const fd = this.open();
    const fail = (msg: string): never => {
      throw new CheckpointError(`${this.path}: tensor ${fmtValue(name)}: ${msg}`, { file: this.path, key: name });
    };
    const t = this.tensors.get(name) ?? fail('not in the planned header');
    if (this.written.has(name)) fail('written twice');
    let values: Float32Array;
    if (data instanceof Tensor) {
      if (data.shape.length !== t.shape.length || data.shape.some((d, i) => d !== t.shape[i])) {
        fail(`shape ${fmtShape(data.shape)} does not match the planned ${fmtShape(t.shape)}`);
      }
      values = data.values();
    } else {
      values = data;
    }
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (values.length !== n) fail(`${values.length} values do not fill shape ${fmtShape(t.shape)}`);
    writeAll(fd, encodeFromF32(t.dtype as FloatDtype, values), this.dataStart + t.begin, this.tmp);
    this.written.add(name);
  }

  /** Checks every tensor was written, flushes and atomically renames the file into place. */
  commit(): void {
    const fd = this.open();
    const missing = [...this.tensors.keys()].filter((k) => !this.written.has(k));
    if (missing.length > 0) {
      this.abort();
      throw new CheckpointError(
        `${this.path}: tensor ${fmtValue(missing[0])} was never written (${missing.length} missing)`,
        {
          file: this.path,
          key: missing[0]!,
        },
      );
    }
    try {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      this.fd = null;
      fs.renameSync(this.tmp, this.path);
    } catch (e) {
      this.abort();
      throw fsError(e, this.path, 'write');
    }
    syncDir(nodePath.dirname(this.path));
  }

  /** Discards the temporary file (safe to call after commit or twice). */
  abort(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
    fs.rmSync(this.tmp, { force: true });
  }

  private open(): number {
    if (this.fd === null)
      throw new CheckpointError(`${this.path}: writer already committed or aborted`, { file: this.path });
    return this.fd;
  }
}

/**
 * Writes a complete safetensors file atomically (temporary file + rename): 8-byte aligned header with
 * `__metadata__` (default `{format: "pt"}`), tensors laid out as PyTorch does, F32/F16/BF16 encoded from float32.
 */
export function writeSafetensors(
  path: string,
  entries: readonly TensorEntry[],
  metadata: Readonly<Record<string, string>> = {},
): void {
  const w = SafetensorsWriter.create(path, entries, metadata);
  try {
    for (const e of entries) w.write(e.name, e.data);
    w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
}
