/**
 * A TensorSource over safetensors bytes already in memory (fetched over HTTP in a browser, embedded in a
 * bundle, or read by the caller). No file system: code that must run in a browser loads models with this
 * and `modelFromSource`. The bytes are validated exactly like `SafetensorsFile.open` (header.ts).
 */
import { allocF32, allocU16, HalfTensor, Tensor } from '@stade/tensor';
import { normalizeConfig } from '../config.js';
import { CheckpointError, fmtValue } from '../errors.js';
import type { TensorShapeInfo, TensorSource } from '../model.js';
import { canReadAsF32, DTYPE_SIZE, decodeToF32, LITTLE_ENDIAN } from './dtypes.js';
import { MAX_HEADER_BYTES, parseHeader, type TensorInfo } from './header.js';

interface Entry {
  info: TensorInfo;
  bytes: Uint8Array; // the whole file
  dataStart: number;
  file: string;
}

/** One or more safetensors files held in memory, plus the model's config.json object. */
export class SafetensorsBuffer implements TensorSource {
  readonly dir: string;
  readonly config: Record<string, unknown>;
  private readonly entries = new Map<string, Entry>();

  /**
   * `files` are the safetensors files' bytes with a label each (used in error messages, e.g. the URL).
   * Throws CheckpointError for a bad header, a tensor stored twice, or a config that does not normalise.
   */
  constructor(
    config: Record<string, unknown>,
    files: readonly { name: string; bytes: Uint8Array }[],
    dir = '<memory>',
  ) {
    this.dir = dir;
    this.config = config;
    normalizeConfig(config, `${dir}/config.json`); // fail early with the config's own error
    for (const f of files) {
      const { bytes, name: file } = f;
      if (bytes.length < 8) {
        throw new CheckpointError(
          `${file}: file is truncated: ${bytes.length} bytes, shorter than the 8-byte header length`,
          { file },
        );
      }
      const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
      if (n > BigInt(MAX_HEADER_BYTES)) {
        throw new CheckpointError(`${file}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`, { file });
      }
      if (n > BigInt(bytes.length - 8)) {
        throw new CheckpointError(`${file}: header length ${n} goes past the end of the file (${bytes.length} bytes)`, {
          file,
        });
      }
      const dataStart = 8 + Number(n);
      const { tensors } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, file);
      for (const [name, info] of tensors) {
        if (this.entries.has(name)) {
          throw new CheckpointError(
            `${file}: tensor ${fmtValue(name)} is also stored in ${this.entries.get(name)!.file}`,
            { file, key: name },
          );
        }
        this.entries.set(name, { info, bytes, dataStart, file });
      }
    }
  }

  names(): Iterable<string> {
    return this.entries.keys();
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorShapeInfo & { dtype: string } {
    const e = this.entry(name);
    return { shape: e.info.shape, dtype: e.info.dtype };
  }

  /** The tensor as a contiguous float32 Tensor (F16/BF16 and integer types converted; F8 refused). */
  get(name: string): Tensor {
    const { info: t, bytes, dataStart, file } = this.entry(name);
    if (!canReadAsF32(t.dtype)) {
      throw new CheckpointError(`${file}: tensor ${fmtValue(name)}: dtype ${t.dtype} cannot be read as float32`, {
        file,
        key: name,
      });
    }
    const n = t.shape.reduce((a, d) => a * d, 1);
    const out = allocF32(n);
    const start = bytes.byteOffset + dataStart + t.begin;
    const len = n * DTYPE_SIZE[t.dtype];
    if (t.dtype === 'F32' && LITTLE_ENDIAN) {
      new Uint8Array(out.buffer, out.byteOffset, len).set(new Uint8Array(bytes.buffer, start, len));
    } else {
      // decodeToF32 wants a buffer at offset 0 (aligned views): copy the stored bytes out first.
      const raw = new Uint8Array(len);
      raw.set(new Uint8Array(bytes.buffer, start, len));
      decodeToF32(t.dtype, raw, out);
    }
    return Tensor.from(out, [...t.shape], false);
  }

  /** Every read returns a buffer the caller owns. */
  readonly freshReads = true;

  /** The tensor in its stored form: a HalfTensor (copied bytes) for F16/BF16, else float32 as `get`. */
  getStored(name: string, reuse?: Float32Array | Uint16Array): Tensor | HalfTensor {
    const { info: t, bytes, dataStart } = this.entry(name);
    if (t.dtype !== 'F16' && t.dtype !== 'BF16') return this.get(name);
    const n = t.shape.reduce((a, d) => a * d, 1);
    const out = reuse instanceof Uint16Array && reuse.length === n ? reuse : allocU16(n);
    const start = bytes.byteOffset + dataStart + t.begin;
    new Uint8Array(out.buffer, out.byteOffset, n * 2).set(new Uint8Array(bytes.buffer, start, n * 2));
    if (!LITTLE_ENDIAN) for (let i = 0; i < n; i++) out[i] = ((out[i]! & 0xff) << 8) | (out[i]! >>> 8);
    return new HalfTensor(t.dtype === 'F16' ? 'f16' : 'bf16', out, t.shape);
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointError(`${this.dir}: no tensor named ${fmtValue(name)}`, { file: this.dir, key: name });
    return e;
  }
}
