import { type CommandSpec, type FlagSpec, findCommand, GLOBAL_FLAGS } from './commands/spec.js';
import { UsageError } from './errors.js';

/** Parsed flag values, keyed by the flag's long name. Absent flags without a default are missing. */
export type Values = Record<string, string | number | boolean | string[] | undefined>;

/** The result of parsing a command line. */
export interface Parsed {
  /** The command, or null for `stade`, `stade --help`, `stade --version`. */
  command: CommandSpec | null;
  values: Values;
  /** Flags the user actually typed (as opposed to defaults). */
  given: Set<string>;
}

function parseValue(flag: FlagSpec, raw: string): string | number | string[] {
  const name = `--${flag.name}`;
  switch (flag.type) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`${name} expects an integer, got '${raw}'`);
      const v = Number(raw);
      checkRange(flag, v, raw);
      return v;
    }
    case 'number': {
      const v = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`${name} expects a number, got '${raw}'`);
      checkRange(flag, v, raw);
      return v;
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim());
      if (items.some((s) => s === '')) throw new UsageError(`${name} has an empty item in '${raw}'`);
      if (flag.choices) for (const it of items) checkChoice(flag, it);
      return items;
    }
    case 'string':
      if (flag.choices) checkChoice(flag, raw);
      return raw;
    default:
      throw new UsageError(`${name} does not take a value`);
  }
}

function checkRange(flag: FlagSpec, v: number, raw: string): void {
  if (flag.min !== undefined && v < flag.min) {
    throw new UsageError(`--${flag.name} must be at least ${flag.min}, got ${raw}`);
  }
  if (flag.max !== undefined && v > flag.max) {
    throw new UsageError(`--${flag.name} must be at most ${flag.max}, got ${raw}`);
  }
}

function checkChoice(flag: FlagSpec, v: string): void {
  if (!flag.choices!.includes(v)) {
    throw new UsageError(`unknown value '${v}' for --${flag.name} (expected one of: ${flag.choices!.join(', ')})`);
  }
}

/**
 * Parses `argv` (without `node` and the script) against the spec. Accepts `--flag value`,
 * `--flag=value`, boolean flags without a value, and global flags anywhere. Throws UsageError naming the
 * offending flag or value. Required flags are checked unless `--help` or `--version` is given.
 */
export function parseArgs(argv: readonly string[]): Parsed {
  let command: CommandSpec | null = null;
  let i = 0;
  const values: Values = {};
  const given = new Set<string>();
  const flagsOf = (): readonly FlagSpec[] => (command ? [...GLOBAL_FLAGS, ...command.flags] : GLOBAL_FLAGS);

  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') throw new UsageError("unexpected '--'");
    if (!arg.startsWith('-')) {
      if (command) throw new UsageError(`unexpected argument '${arg}' (flags start with --)`);
      if (arg === 'help') {
        // `stade help prune` == `stade prune --help`
        values.help = true;
        given.add('help');
        continue;
      }
      const c = findCommand(arg);
      if (!c) throw new UsageError(`unknown command '${arg}' (expected one of: eval, inspect, prune, sweep)`);
      command = c;
      continue;
    }
    if (!arg.startsWith('--') || arg.length < 3) {
      if (arg === '-h') {
        values.help = true;
        given.add('help');
        continue;
      }
      throw new UsageError(`unknown flag '${arg}' (flags are written --name)`);
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const flag = flagsOf().find((f) => f.name === name);
    if (!flag) {
      const where = command ? ` for '${command.name}'` : '';
      throw new UsageError(`unknown flag '--${name}'${where}`);
    }
    if (given.has(name)) throw new UsageError(`--${name} is given more than once`);
    given.add(name);
    if (flag.type === 'boolean') {
      if (eq >= 0) {
        const raw = arg.slice(eq + 1);
        if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} expects true or false, got '${raw}'`);
        values[name] = raw === 'true';
      } else values[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value${flag.metavar ? ` (${flag.metavar})` : ''}`);
      }
      raw = next;
      i++;
    }
    values[name] = parseValue(flag, raw);
  }

  for (const f of flagsOf()) {
    if (values[f.name] === undefined && f.default !== undefined) {
      values[f.name] = Array.isArray(f.default)
        ? [...(f.default as string[])]
        : (f.default as string | number | boolean);
    }
  }
  if (command && !values.help && !values.version) {
    for (const f of command.flags) {
      if (f.required && values[f.name] === undefined) {
        throw new UsageError(`'${command.name}' needs --${f.name}${f.metavar ? ` ${f.metavar}` : ''}`);
      }
    }
  }
  return { command, values, given };
}

/** Typed accessors for parsed values (the parser guarantees the types). */
export const str = (v: Values, k: string): string | undefined => v[k] as string | undefined;
export const num = (v: Values, k: string): number | undefined => v[k] as number | undefined;
export const bool = (v: Values, k: string): boolean => v[k] === true;
export const list = (v: Values, k: string): string[] => (v[k] as string[] | undefined) ?? [];
