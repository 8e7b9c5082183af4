import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fmtShape, Tensor } from '@stade/tensor';
import { CheckpointError, fmtValue } from '../errors.js';
import { DTYPE_SIZE, decodeToF32, encodeFromF32, type FloatDtype, isFloatDtype } from './dtypes.js';
import { planHeader, type TensorInfo } from './header.js';
import { fsError, type SafetensorsFile } from './safetensors.js';

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
/** Values encoded per write (4 M floats: 8 to 16 MB of scratch). */
const ENCODE_CHUNK = 1 << 22;
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
  private readonly partial = new Map<string, number>();
  /** The writer's own encode buffer (one chunk of 16-bit values), reused for every chunk of every tensor. */
  private encodeBuf: Uint16Array | null = null;
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
    const t = this.planned(name);
    if (this.written.has(name)) this.fail(name, 'written twice');
    let values: Float32Array;
    if (data instanceof Tensor) {
      if (data.shape.length !== t.shape.length || data.shape.some((d, i) => d !== t.shape[i])) {
        this.fail(name, `shape ${fmtShape(data.shape)} does not match the planned ${fmtShape(t.shape)}`);
      }
      values = data.values();
    } else {
      values = data;
    }
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (values.length !== n) this.fail(name, `${values.length} values do not fill shape ${fmtShape(t.shape)}`);
    const size = (t.end - t.begin) / Math.max(1, n);
    // encode a few MB at a time: no full-size copy in the target dtype
    for (let i = 0; i < n; i += ENCODE_CHUNK) {
      const part = values.subarray(i, Math.min(n, i + ENCODE_CHUNK));
      const bytes = encodeFromF32(t.dtype as FloatDtype, part, this.scratch16());
      writeAll(fd, bytes, this.dataStart + t.begin + i * size, this.tmp);
    }
    this.written.add(name);
  }

  /**
   * Writes raw stored bytes of a tensor (already in its planned dtype, little-endian) starting at byte `at` of
   * the tensor; the tensor counts as written once all its bytes are (for copying a tensor piece by piece).
   */
  writeBytes(name: string, bytes: Uint8Array, at = 0): void {
    const fd = this.open();
    const t = this.planned(name);
    if (this.written.has(name)) this.fail(name, 'written twice');
    const len = t.end - t.begin;
    if (at < 0 || at + bytes.length > len)
      this.fail(name, `bytes ${at}..${at + bytes.length} outside its ${len} bytes`);
    writeAll(fd, bytes, this.dataStart + t.begin + at, this.tmp);
    const done = (this.partial.get(name) ?? 0) + bytes.length;
    if (done >= len) {
      this.partial.delete(name);
      this.written.add(name);
    } else this.partial.set(name, done);
  }

  /**
   * Copies tensor `srcName` of `src` into planned tensor `name` a few MB at a time: byte for byte when the dtypes
   * agree, else through float32 (F16/BF16 round to nearest even). Shapes must agree.
   */
  copyFrom(name: string, src: SafetensorsFile, srcName: string): void {
    const t = this.planned(name);
    const s = src.info(srcName);
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
      this.fail(name, `shape ${fmtShape(s.shape)} of ${src.path} does not match the planned ${fmtShape(t.shape)}`);
    }
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n === 0) {
      this.writeBytes(name, new Uint8Array(0));
      return;
    }
    const inSize = DTYPE_SIZE[s.dtype];
    const outSize = DTYPE_SIZE[t.dtype];
    const chunk = Math.min(n, ENCODE_CHUNK);
    const raw = new Uint8Array(chunk * inSize);
    const f32 = s.dtype === t.dtype ? null : new Float32Array(chunk);
    for (let i = 0; i < n; i += chunk) {
      const m = Math.min(chunk, n - i);
      const part = raw.subarray(0, m * inSize);
      src.readRange(srcName, i * inSize, part);
      if (!f32) this.writeBytes(name, part, i * outSize);
      else {
        decodeToF32(s.dtype, part, f32.subarray(0, m));
        this.writeBytes(name, encodeFromF32(t.dtype as FloatDtype, f32.subarray(0, m), this.scratch16()), i * outSize);
      }
    }
  }

  private scratch16(): Uint16Array {
    this.encodeBuf ??= new Uint16Array(ENCODE_CHUNK);
    return this.encodeBuf;
  }

  private planned(name: string): TensorInfo {
    return this.tensors.get(name) ?? this.fail(name, 'not in the planned header');
  }

  private fail(name: string, msg: string): never {
    throw new CheckpointError(`${this.path}: tensor ${fmtValue(name)}: ${msg}`, { file: this.path, key: name });
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
