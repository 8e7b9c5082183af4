/** A bad command line: unknown flag, bad value, missing argument. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

/** A failure the CLI itself detected (bad path, bad text, existing output...). Exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode = 1;
}

/** The run was interrupted (SIGINT). */
export class InterruptedError extends CliError {
  override name = 'InterruptedError';
}

/** Exit code for an error: 2 for usage errors, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}

/**
 * The one-line message for an error. Errors from the packages carry `file` / `key` fields; they are
 * appended when the message does not already name them. Never includes a stack trace.
 */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let msg = err.message || err.name;
  const e = err as Error & { file?: unknown; key?: unknown; code?: unknown; path?: unknown };
  if (typeof e.file === 'string' && e.file && !msg.includes(e.file)) msg += ` (file ${e.file})`;
  if (typeof e.key === 'string' && e.key && !msg.includes(e.key)) msg += ` (key ${e.key})`;
  if (typeof e.code === 'string' && typeof e.path === 'string' && !msg.includes(e.path)) msg += ` (${e.path})`;
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}

/** The whole `stade: error: ...` line. */
export function errorLine(err: unknown): string {
  return `stade: error: ${messageOf(err)}`;
}
