import { setThreads } from '@stade/tensor';
import { num, type Parsed } from './args.js';
import { analyzeCommand } from './commands/analyze.js';
import { benchCommand } from './commands/bench.js';
import { evalCommand } from './commands/eval.js';
import { generateCommand } from './commands/generate.js';
import { inspectCommand } from './commands/inspect.js';
import { pruneCommand } from './commands/prune.js';
import { COMMANDS } from './commands/spec.js';
import { sweepCommand } from './commands/sweep.js';
import { zeroshotCommand } from './commands/zeroshot.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';

/** Runs a parsed command (in the worker thread, or directly in tests). `argv` is kept for the model card. */
export async function runCommand(parsed: Parsed, io: Io, argv?: readonly string[]): Promise<void> {
  if (!parsed.command)
    throw new UsageError(`missing command (expected one of: ${COMMANDS.map((c) => c.name).join(', ')})`);
  const threads = num(parsed.values, 'threads');
  if (threads !== undefined) setThreads(threads);
  const v = parsed.values;
  switch (parsed.command.name) {
    case 'eval':
      await evalCommand(v, io);
      return;
    case 'inspect':
      await inspectCommand(v, io);
      return;
    case 'prune':
      await pruneCommand(v, io, argv);
      return;
    case 'sweep':
      await sweepCommand(v, io);
      return;
    case 'generate':
      await generateCommand(v, io);
      return;
    case 'analyze':
      await analyzeCommand(v, io);
      return;
    case 'bench':
      await benchCommand(v, io);
      return;
    case 'zeroshot':
      await zeroshotCommand(v, io);
      return;
    default:
      throw new UsageError(`unknown command '${parsed.command.name}'`);
  }
}
