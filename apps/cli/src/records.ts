// Task records from the user's local files, in the Hugging Face datasets' own layout: JSON Lines, or Parquet
// (the format the Hub serves), read with hyparquet (pure JavaScript).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { CliError } from './errors.js';
import { decodeUtf8 } from './text.js';

/** The records of one file and, for each, the number an error names (the line of a .jsonl, the row of a .parquet). */
export interface Records {
  file: string;
  records: unknown[];
  numbers: number[];
}

/** File extensions read as task data, in the order a --data folder is searched. */
export const DATA_EXTENSIONS = ['.jsonl', '.parquet'];

/** Parquet INT64 values come as bigint: make every safe integer a number (nested values too). */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Parses JSON Lines: one object per non-blank line; errors name the file and line. */
export function parseJsonlRecords(text: string, file: string): Records {
  const records: unknown[] = [];
  const numbers: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      records.push(JSON.parse(line));
    } catch (e) {
      throw new CliError(`${file}: record ${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    numbers.push(i + 1);
  }
  return { file, records, numbers };
}

/** Reads a .jsonl or .parquet file of task records. */
export async function readRecords(file: string): Promise<Records> {
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl') return parseJsonlRecords(decodeUtf8(readBytes(file), file), file);
  if (ext === '.parquet') {
    const b = readBytes(file);
    const buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buf });
    } catch (e) {
      throw new CliError(`${file} is not a readable Parquet file (${(e as Error).message})`);
    }
    return { file, records: rows.map(plain), numbers: rows.map((_, i) => i + 1) };
  }
  throw new CliError(`${file}: unsupported task data format '${ext || '(none)'}' (expected .jsonl or .parquet)`);
}

/** The file of `task` in a --data folder (`<task>.jsonl` or `<task>.parquet`), or an error naming both. */
export function findTaskFile(dir: string, task: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new CliError(`--data folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new CliError(`--data ${dir} is not a folder (use --task-file NAME=FILE for one file)`);
  for (const ext of DATA_EXTENSIONS) {
    const f = join(dir, task + ext);
    if (existsSync(f)) return f;
  }
  throw new CliError(
    `no ${DATA_EXTENSIONS.map((e) => task + e).join(' or ')} in ${dir} (or pass --task-file ${task}=FILE)`,
  );
}
