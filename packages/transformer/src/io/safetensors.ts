import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import { allocF32, allocU16, HalfTensor, Tensor } from '@stade/tensor';
import { CheckpointError, fmtValue } from '../errors.js';
import { canReadAsF32, DTYPE_SIZE, decodeToF32, LITTLE_ENDIAN } from './dtypes.js';
import { MAX_HEADER_BYTES, parseHeader, type TensorInfo } from './header.js';

export type { TensorInfo } from './header.js';

/** Largest single readSync call (Node limits one read to under 2 GiB). */
const READ_CHUNK = 1 << 30;
/** Largest array Node can allocate. */
const MAX_BYTES = bufferConstants.MAX_LENGTH;
/** Scratch size for converting F16/BF16/integer tensors (bytes read and decoded per step). */
const DECODE_CHUNK_BYTES = 1 << 22;

/** Wraps a Node fs error (ENOENT, EISDIR, EACCES...) into a CheckpointError naming the file. */
export function fsError(e: unknown, file: string, what: string): CheckpointError {
  const code = (e as { code?: unknown })?.code;
  const raw = e instanceof Error ? e.message : String(e);
  // Node's "ENOENT: no such file or directory, open '/x'" -> "no such file or directory" (the path is named already).
  const msg = /^[A-Z0-9_]+: (.*?), \w+ '.*'$/s.exec(raw)?.[1] ?? raw;
  return new CheckpointError(
    `${file}: cannot ${what}${typeof code === 'string' ? ` (${code})` : ''}: ${msg}`,
    { file },
    { cause: e },
  );
}

/** Reads exactly `length` bytes at `position` into `dst` (from `dstOffset`), or throws a truncation error. */
function readExact(
  fd: number,
  dst: Uint8Array,
  dstOffset: number,
  length: number,
  position: number,
  file: string,
): void {
  let done = 0;
  while (done < length) {
    const want = Math.min(READ_CHUNK, length - done);
    let n: number;
    try {
      n = fs.readSync(fd, dst, dstOffset + done, want, position + done);
    } catch (e) {
      throw fsError(e, file, 'read');
    }
    if (n <= 0) {
      throw new CheckpointError(
        `${file}: file is truncated: wanted ${length} bytes at offset ${position}, got ${done}`,
        { file },
      );
    }
    done += n;
  }
}

/**
 * A validated safetensors file read lazily: `open` reads and checks only the header; `read(name)` reads that
 * tensor's bytes at their offset (never the whole file) and converts them to float32. The descriptor stays
 * open until `close()`; a read after `close()` reopens the file.
 */
export class SafetensorsFile {
  /** Tensors in header order (offsets relative to the data section, which starts at `dataStart`). */
  readonly header: ReadonlyMap<string, TensorInfo>;
  /** The `__metadata__` strings (a null-prototype object; empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset of the data section: 8 + header length. */
  readonly dataStart: number;
  /** File size in bytes when opened. */
  readonly size: number;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
    dataStart: number,
    header: Map<string, TensorInfo>,
    metadata: Readonly<Record<string, string>>,
  ) {
    this.fd = fd;
    this.size = size;
    this.dataStart = dataStart;
    this.header = header;
    this.metadata = metadata;
  }

  /** Opens and validates `path` (SPEC section 11); throws CheckpointError naming the file and tensor. */
  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw fsError(e, path, 'open');
    }
    try {
      let size: number;
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) throw new CheckpointError(`${path}: not a regular file`, { file: path });
        size = st.size;
      } catch (e) {
        throw e instanceof CheckpointError ? e : fsError(e, path, 'stat');
      }
      if (size < 8) {
        throw new CheckpointError(`${path}: file is truncated: ${size} bytes, shorter than the 8-byte header length`, {
          file: path,
        });
      }
      const lenBytes = new Uint8Array(8);
      readExact(fd, lenBytes, 0, 8, 0, path);
      const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
      if (n > BigInt(MAX_HEADER_BYTES)) {
        throw new CheckpointError(`${path}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`, {
          file: path,
        });
      }
      if (n > BigInt(size - 8)) {
        throw new CheckpointError(`${path}: header length ${n} goes past the end of the file (${size} bytes)`, {
          file: path,
        });
      }
      const headerLength = Number(n);
      const bytes = new Uint8Array(headerLength);
      readExact(fd, bytes, 0, headerLength, 8, path);
      const dataStart = 8 + headerLength;
      const { tensors, metadata } = parseHeader(bytes, size - dataStart, path);
      return new SafetensorsFile(path, fd, size, dataStart, tensors, metadata);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Tensor names in header order. */
  names(): string[] {
    return [...this.header.keys()];
  }

  has(name: string): boolean {
    return this.header.has(name);
  }

  /** dtype, shape and offsets of a tensor; throws CheckpointError naming a missing key. */
  info(name: string): TensorInfo {
    const t = this.header.get(name);
    if (!t)
      throw new CheckpointError(`${this.path}: no tensor named ${fmtValue(name)}`, { file: this.path, key: name });
    return t;
  }

  /** The tensor's raw little-endian bytes (a fresh 8-byte-aligned buffer). */
  readRaw(name: string): Uint8Array {
    const t = this.info(name);
    const out = new Uint8Array(t.end - t.begin);
    readExact(this.descriptor(), out, 0, out.length, this.dataStart + t.begin, this.path);
    return out;
  }

  /**
   * The tensor as a contiguous float32 Tensor (F16/BF16 and the integer types converted; F8 refused), read into
   * `reuse` when given (exactly the element count).
   */
  read(name: string, reuse?: Float32Array): Tensor {
    const t = this.info(name);
    if (!canReadAsF32(t.dtype)) {
      throw new CheckpointError(`${this.path}: tensor ${fmtValue(name)}: dtype ${t.dtype} cannot be read as float32`, {
        file: this.path,
        key: name,
      });
    }
    const n = t.shape.reduce((a, d) => a * d, 1);
    const out = reuse && reuse.length === n ? reuse : this.alloc(name, n, 'float32', allocF32);
    if (t.dtype === 'F32' && LITTLE_ENDIAN) {
      this.readBytes(t, new Uint8Array(out.buffer, out.byteOffset, n * 4));
    } else {
      // Convert chunk by chunk through a small scratch buffer: no second full-size copy of the stored bytes.
      const size = DTYPE_SIZE[t.dtype];
      const chunk = Math.max(1, Math.floor(DECODE_CHUNK_BYTES / size));
      const scratch = new Uint8Array(Math.min(n, chunk) * size);
      const fd = this.descriptor();
      for (let i = 0; i < n; i += chunk) {
        const m = Math.min(chunk, n - i);
        readExact(fd, scratch, 0, m * size, this.dataStart + t.begin + i * size, this.path);
        decodeToF32(t.dtype, scratch.subarray(0, m * size), out.subarray(i, i + m));
      }
    }
    return new Tensor(out, t.shape);
  }

  /**
   * The tensor in its stored form: a HalfTensor of the raw 16-bit values for F16/BF16 (nothing converted), else
   * float32 as `read`. `reuse` (exactly the element count, Uint16Array for F16/BF16) receives the data when given.
   */
  readStored(name: string, reuse?: Float32Array | Uint16Array): Tensor | HalfTensor {
    const t = this.info(name);
    if (t.dtype !== 'F16' && t.dtype !== 'BF16')
      return this.read(name, reuse instanceof Float32Array ? reuse : undefined);
    const n = t.shape.reduce((a, d) => a * d, 1);
    const out = reuse instanceof Uint16Array && reuse.length === n ? reuse : this.alloc(name, n, '16-bit', allocU16);
    this.readBytes(t, new Uint8Array(out.buffer, out.byteOffset, n * 2));
    if (!LITTLE_ENDIAN) for (let i = 0; i < n; i++) out[i] = ((out[i]! & 0xff) << 8) | (out[i]! >>> 8);
    return new HalfTensor(t.dtype === 'F16' ? 'f16' : 'bf16', out, t.shape);
  }

  /** Copies `length` bytes of the tensor's stored data from byte `from` (of the tensor) into `dst`. */
  readRange(name: string, from: number, dst: Uint8Array): void {
    const t = this.info(name);
    if (from < 0 || from + dst.length > t.end - t.begin) {
      throw new CheckpointError(`${this.path}: tensor ${fmtValue(name)}: byte range outside the tensor`, {
        file: this.path,
        key: name,
      });
    }
    readExact(this.descriptor(), dst, 0, dst.length, this.dataStart + t.begin + from, this.path);
  }

  private readBytes(t: TensorInfo, dst: Uint8Array): void {
    readExact(this.descriptor(), dst, 0, dst.length, this.dataStart + t.begin, this.path);
  }

  private alloc<A>(name: string, n: number, kind: 'float32' | '16-bit', alloc: (n: number) => A): A {
    try {
      if (n * (kind === 'float32' ? 4 : 2) > MAX_BYTES) throw new RangeError(`more than ${MAX_BYTES} bytes`);
      return alloc(n);
    } catch (e) {
      throw new CheckpointError(
        `${this.path}: tensor ${fmtValue(name)}: cannot allocate ${n} ${kind} values (${e instanceof Error ? e.message : String(e)})`,
        { file: this.path, key: name },
        { cause: e },
      );
    }
  }

  /** Releases the file descriptor (safe to call twice). */
  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      fs.closeSync(fd);
    }
  }

  private descriptor(): number {
    if (this.fd !== null) return this.fd;
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch (e) {
      throw fsError(e, this.path, 'reopen');
    }
    let size: number;
    try {
      size = fs.fstatSync(fd).size;
    } catch (e) {
      fs.closeSync(fd);
      throw fsError(e, this.path, 'stat');
    }
    if (size !== this.size) {
      fs.closeSync(fd);
      throw new CheckpointError(`${this.path}: file changed size since it was opened (${this.size} -> ${size} bytes)`, {
        file: this.path,
      });
    }
    this.fd = fd;
    return fd;
  }
}
