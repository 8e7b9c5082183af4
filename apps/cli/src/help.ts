import { COMMANDS, type CommandSpec, type FlagSpec, GLOBAL_FLAGS } from './commands/spec.js';

function flagLine(f: FlagSpec): [string, string] {
  const left = `--${f.name}${f.type === 'boolean' ? '' : ` ${f.metavar ?? 'VALUE'}`}`;
  let right = f.help;
  if (f.choices && f.type === 'string') right += ` (${f.choices.join('|')})`;
  if (f.required) right += ' [required]';
  else if (f.defaultText) right += ` [default: ${f.defaultText}]`;
  else if (f.default !== undefined && f.type !== 'boolean') {
    right += ` [default: ${Array.isArray(f.default) ? f.default.join(',') : String(f.default)}]`;
  }
  return [left, right];
}

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([l, r]) => `  ${l.padEnd(w)}  ${r}`).join('\n');
}

/** The usage synopsis of a command, e.g. `stade eval [--model DIR] ...`. */
export function synopsis(c: CommandSpec): string {
  const parts = c.flags.map((f) => {
    const s = `--${f.name}${f.type === 'boolean' ? '' : ` ${f.metavar ?? 'VALUE'}`}`;
    return f.required ? s : `[${s}]`;
  });
  return `stade ${c.name} ${parts.join(' ')}`;
}

/** Help text for one command, generated from the spec. */
export function commandHelp(c: CommandSpec): string {
  return [
    `stade ${c.name} — ${c.summary}`,
    '',
    `Usage: ${synopsis(c)}`,
    '',
    c.description,
    '',
    'Options:',
    table(c.flags.map(flagLine)),
    '',
    'Global options:',
    table(GLOBAL_FLAGS.map(flagLine)),
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** Help text for `stade` itself. */
export function mainHelp(version: string): string {
  return [
    `stade ${version} — post-training pruning of language models (STADE, Wanda, SparseGPT, magnitude)`,
    '',
    'Usage: stade <command> [options]',
    '',
    'Commands:',
    table(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    'Global options:',
    table(GLOBAL_FLAGS.map(flagLine)),
    '',
    "Run 'stade <command> --help' for the options of a command.",
    '',
  ].join('\n');
}
