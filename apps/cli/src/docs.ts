/**
 * The command reference for the documentation site, generated from the same spec that drives parsing and
 * `--help` (import `@stade/cli/spec`).
 */
import { COMMANDS, type CommandSpec, type FlagSpec, GLOBAL_FLAGS } from './commands/spec.js';
import { commandHelp, mainHelp, synopsis } from './help.js';

export type { CommandSpec, FlagSpec };
export { COMMANDS, commandHelp, GLOBAL_FLAGS, mainHelp, synopsis };

function defaultOf(f: FlagSpec): string {
  if (f.required) return 'required';
  if (f.defaultText) return f.defaultText;
  if (f.default === undefined || f.type === 'boolean') return '';
  return Array.isArray(f.default) ? f.default.join(',') : String(f.default);
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

function flagTable(flags: readonly FlagSpec[]): string[] {
  return [
    '| flag | type | default | description |',
    '|---|---|---|---|',
    ...flags.map((f) => {
      const name = `\`--${f.name}${f.type === 'boolean' ? '' : ` ${f.metavar ?? 'VALUE'}`}\``;
      const type = f.choices ? f.choices.join(' \\| ') : f.type;
      return `| ${cell(name)} | ${cell(type)} | ${cell(defaultOf(f))} | ${cell(f.help)} |`;
    }),
  ];
}

/** Markdown reference of every command: synopsis, description, flag table and examples. */
export function markdownReference(): string {
  const out: string[] = ['# `stade` command reference', ''];
  for (const c of COMMANDS) {
    out.push(
      `## stade ${c.name}`,
      '',
      c.summary,
      '',
      '```',
      synopsis(c),
      '```',
      '',
      c.description,
      '',
      ...flagTable(c.flags),
      '',
    );
    out.push('Examples:', '', '```sh', ...c.examples, '```', '');
  }
  out.push('## Global flags', '', ...flagTable(GLOBAL_FLAGS), '');
  return out.join('\n');
}
