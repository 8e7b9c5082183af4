import { CheckpointError, fmtValue } from '../errors.js';
import { DTYPE_SIZE, isDtype, type SafetensorsDtype } from './dtypes.js';

/** Largest accepted JSON header, in bytes (the limit of the reference implementation). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file. `begin`/`end` are byte offsets relative to the start of the data section. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A validated header: tensors in header order and the string-to-string `__metadata__` (null prototype). */
export interface ParsedHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Readonly<Record<string, string>>;
}

/** Tensor names refused everywhere (they would shadow object internals in careless consumers). */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', '__metadata__']);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses and validates a safetensors JSON header (the bytes after the 8-byte length). `dataLength` is the size
 * of the data section. Checks: UTF-8, JSON object, `__metadata__` string->string, each tensor's dtype, shape,
 * data_offsets inside the data, byte length = product(shape) x dtype size, and no two tensors overlapping.
 * Throws CheckpointError naming `file` and the tensor.
 */
export function parseHeader(bytes: Uint8Array, dataLength: number, file: string): ParsedHeader {
  const fail = (msg: string, key?: string): never => {
    throw new CheckpointError(`${file}: ${key !== undefined ? `tensor ${fmtValue(key)}: ` : ''}${msg}`, { file, key });
  };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return fail('safetensors header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`safetensors header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(json)) return fail(`safetensors header must be a JSON object, got ${fmtValue(json, 40)}`);

  const tensors = new Map<string, TensorInfo>();
  const metadata: Record<string, string> = Object.create(null);
  for (const name of Object.keys(json)) {
    const entry: unknown = Object.getOwnPropertyDescriptor(json, name)?.value;
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) fail(`__metadata__ must be an object of strings, got ${fmtValue(entry, 40)}`);
      for (const k of Object.keys(entry as object)) {
        const v: unknown = Object.getOwnPropertyDescriptor(entry, k)?.value;
        if (typeof v !== 'string')
          fail(`__metadata__ value of ${fmtValue(k)} must be a string, got ${fmtValue(v, 40)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (name === '__proto__') fail('forbidden tensor name', name);
    if (name === '') fail('empty tensor name', name);
    tensors.set(name, parseEntry(entry, name, dataLength, fail));
  }
  checkOverlaps(tensors, fail);
  return { tensors, metadata: Object.freeze(metadata) };
}

function parseEntry(
  entry: unknown,
  name: string,
  dataLength: number,
  fail: (msg: string, key?: string) => never,
): TensorInfo {
  if (!isPlainObject(entry))
    return fail(`entry must be an object with dtype, shape, data_offsets, got ${fmtValue(entry, 40)}`, name);
  const dtype = Object.getOwnPropertyDescriptor(entry, 'dtype')?.value as unknown;
  const shape = Object.getOwnPropertyDescriptor(entry, 'shape')?.value as unknown;
  const offsets = Object.getOwnPropertyDescriptor(entry, 'data_offsets')?.value as unknown;
  if (!isDtype(dtype)) return fail(`unknown dtype ${fmtValue(dtype)}`, name);
  if (!Array.isArray(shape))
    return fail(`shape must be an array of non-negative integers, got ${fmtValue(shape)}`, name);
  let count = 1n;
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return fail(`shape must be an array of non-negative integers, got ${fmtValue(shape)}`, name);
    }
    count *= BigInt(d);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return fail(`data_offsets must be [begin, end], got ${fmtValue(offsets)}`, name);
  }
  const [begin, end] = offsets as unknown[];
  if (
    typeof begin !== 'number' ||
    typeof end !== 'number' ||
    !Number.isSafeInteger(begin) ||
    !Number.isSafeInteger(end)
  ) {
    return fail(`data_offsets must be two integers, got ${fmtValue(offsets)}`, name);
  }
  if (begin < 0 || end < begin || end > dataLength) {
    return fail(`data_offsets ${fmtValue(offsets)} outside the data section of ${dataLength} bytes`, name);
  }
  const expected = count * BigInt(DTYPE_SIZE[dtype]);
  if (BigInt(end - begin) !== expected) {
    return fail(
      `data_offsets ${fmtValue(offsets)} hold ${end - begin} bytes but shape ${fmtValue(shape)} of ${dtype} needs ${expected}`,
      name,
    );
  }
  return Object.freeze({ name, dtype, shape: Object.freeze([...(shape as number[])]), begin, end });
}

function checkOverlaps(tensors: Map<string, TensorInfo>, fail: (msg: string, key?: string) => never): void {
  const ranges = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.begin < prev.end) {
      fail(
        `data_offsets [${cur.begin}, ${cur.end}] overlap those of ${fmtValue(prev.name)} [${prev.begin}, ${prev.end}]`,
        cur.name,
      );
    }
  }
}

/** What the writer needs to lay a tensor out. */
export interface TensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
}

/** A planned file: header bytes (space-padded to 8-byte alignment) and each tensor's place in the data. */
export interface HeaderPlan {
  header: Uint8Array;
  tensors: Map<string, TensorInfo>;
  dataLength: number;
}

/**
 * Lays tensors out as PyTorch's safetensors does (largest dtype first, then by name), builds the JSON header
 * with `__metadata__` first and pads it with spaces so the data starts on an 8-byte boundary.
 */
export function planHeader(
  specs: readonly TensorSpec[],
  metadata: Readonly<Record<string, string>>,
  file: string,
): HeaderPlan {
  const fail = (msg: string, key?: string): never => {
    throw new CheckpointError(`${file}: ${key !== undefined ? `tensor ${fmtValue(key)}: ` : ''}${msg}`, { file, key });
  };
  const seen = new Set<string>();
  for (const s of specs) {
    if (typeof s.name !== 'string' || s.name === '' || FORBIDDEN_NAMES.has(s.name))
      fail('invalid tensor name', String(s.name));
    if (seen.has(s.name)) fail('duplicate tensor name', s.name);
    seen.add(s.name);
    if (!isDtype(s.dtype)) fail(`unknown dtype ${fmtValue(s.dtype)}`, s.name);
    if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`invalid shape ${fmtValue(s.shape)}`, s.name);
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') fail(`__metadata__ value of ${fmtValue(k)} must be a string, got ${fmtValue(v)}`);
  }
  const order = [...specs].sort(
    (a, b) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const tensors = new Map<string, TensorInfo>();
  const parts: string[] = [];
  if (Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const s of order) {
    const bytes = s.shape.reduce((a, d) => a * d, 1) * DTYPE_SIZE[s.dtype];
    if (!Number.isSafeInteger(offset + bytes)) fail(`shape ${fmtValue(s.shape)} is too large`, s.name);
    const info: TensorInfo = Object.freeze({
      name: s.name,
      dtype: s.dtype,
      shape: Object.freeze([...s.shape]),
      begin: offset,
      end: offset + bytes,
    });
    tensors.set(s.name, info);
    parts.push(
      `${JSON.stringify(s.name)}:${JSON.stringify({ dtype: s.dtype, shape: info.shape, data_offsets: [info.begin, info.end] })}`,
    );
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) fail(`header of ${padded} bytes exceeds ${MAX_HEADER_BYTES}`);
  const header = new Uint8Array(padded).fill(0x20);
  header.set(json);
  return { header, tensors, dataLength: offset };
}
