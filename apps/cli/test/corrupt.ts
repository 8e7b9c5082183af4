import { readFileSync, writeFileSync } from 'node:fs';

/** A safetensors file split into its JSON header and data section. */
export interface RawSafetensors {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  data: Buffer;
}

/** Reads a (valid) safetensors file's header and data. */
export function readRaw(file: string): RawSafetensors {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return { header: JSON.parse(b.subarray(8, 8 + n).toString('utf8')), data: b.subarray(8 + n) };
}

/** Writes a header (padded with spaces to 8 bytes) and data, valid or not. */
export function writeRaw(file: string, raw: RawSafetensors): void {
  let h = JSON.stringify(raw.header);
  while (h.length % 8) h += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(h)));
  writeFileSync(file, Buffer.concat([len, Buffer.from(h), raw.data]));
}

type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** Rewrites the header of `file` through `f` (the data section is kept). */
export function mutateHeader(file: string, f: (h: Record<string, Entry>) => void): void {
  const raw = readRaw(file);
  f(raw.header as Record<string, Entry>);
  writeRaw(file, raw);
}

/** Overwrites the 8-byte header length. */
export function setHeaderLength(file: string, n: bigint): void {
  const b = readFileSync(file);
  b.writeBigUInt64LE(n, 0);
  writeFileSync(file, b);
}

/** Cuts the file to `fraction` of its size. */
export function truncate(file: string, fraction: number): void {
  const b = readFileSync(file);
  writeFileSync(file, b.subarray(0, Math.floor(b.length * fraction)));
}

/** Names of the tensors in header order (without __metadata__). */
export function tensorNames(file: string): string[] {
  return Object.keys(readRaw(file).header).filter((k) => k !== '__metadata__');
}

/** Renames a tensor in the raw header text (e.g. to `__proto__`, which JSON.stringify cannot produce). */
export function renameTensorRaw(file: string, from: string, to: string): void {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  let h = b
    .subarray(8, 8 + n)
    .toString('utf8')
    .replace(JSON.stringify(from), JSON.stringify(to));
  while (Buffer.byteLength(h) % 8) h += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(h)));
  writeFileSync(file, Buffer.concat([len, Buffer.from(h), b.subarray(8 + n)]));
}
