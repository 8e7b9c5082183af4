import { StadeError } from '@stade/transformer';

/** Bad zero-shot input: a record without a field, a gold answer not among the choices, an unknown task. */
export class ZeroshotError extends StadeError {
  override name = 'ZeroshotError';
}

/** Where a record comes from, for error messages: its file and 1-based record number (line for .jsonl). */
export interface RecordRef {
  file: string;
  record: number;
}

/** Formats a value for an error message, cut to `max` characters. */
export function show(v: unknown, max = 60): string {
  let s: string;
  try {
    s = typeof v === 'bigint' ? `${v}` : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** Throws a ZeroshotError naming the file, the record and the field. */
export function recordError(at: RecordRef, field: string, what: string): never {
  throw new ZeroshotError(`${at.file}: record ${at.record}: field "${field}": ${what}`, {
    file: at.file,
    key: field,
  });
}
