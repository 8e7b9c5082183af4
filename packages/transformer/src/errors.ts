/** Where an error comes from: the file (path) and the key (tensor name or config key) involved. */
export interface ErrorSource {
  file?: string;
  key?: string;
}

/**
 * Base class of every error stade throws for bad input. The message always names the file and, when one is
 * involved, the key or value; `file` and `key` repeat them for programs.
 */
export class StadeError extends Error {
  override name = 'StadeError';
  readonly file?: string;
  readonly key?: string;

  constructor(message: string, source: ErrorSource = {}, options?: { cause?: unknown }) {
    super(message, options);
    if (source.file !== undefined) this.file = source.file;
    if (source.key !== undefined) this.key = source.key;
  }
}

/** A missing, corrupt or inconsistent checkpoint file (safetensors, index, shard) or tensor. */
export class CheckpointError extends StadeError {
  override name = 'CheckpointError';
}

/** A missing, malformed or unsupported entry of a model's config.json. */
export class ConfigError extends StadeError {
  override name = 'ConfigError';
}

/** Formats a value for an error message: JSON when possible, cut to `max` characters. */
export function fmtValue(v: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
  } catch {
    s = Object.prototype.toString.call(v);
  }
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
