import { num, type Parsed } from './args.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';

/** Runs a parsed command (in the worker thread, or directly in tests). */
export async function runCommand(parsed: Parsed, io: Io): Promise<void> {
  if (!parsed.command) throw new UsageError('missing command (expected one of: eval, inspect, prune, sweep)');
  const threads = num(parsed.values, 'threads');
  if (threads !== undefined) process.env.STADE_THREADS = String(threads);
  switch (parsed.command.name) {
    default:
      throw new UsageError(`unknown command '${parsed.command.name}'`);
  }
}
