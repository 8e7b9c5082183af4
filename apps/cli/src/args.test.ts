import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.js';
import { COMMANDS, GLOBAL_FLAGS } from './commands/spec.js';
import { UsageError } from './errors.js';
import { commandHelp, mainHelp } from './help.js';
import { parsePattern, parseSparsities, resolveSparsity } from './recipe.js';

const usage = (argv: string[]) => {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
};

describe('parseArgs', () => {
  it('parses flags with defaults, --a=b and globals anywhere', () => {
    const p = parseArgs(['--threads', '2', 'prune', '--method', 'stade', '--sparsity=0.5', '--out', 'x', '--json']);
    expect(p.command?.name).toBe('prune');
    expect(p.values).toMatchObject({ threads: 2, method: 'stade', sparsity: 0.5, out: 'x', json: true });
    expect(p.values.pattern).toBe('unstructured');
    expect(p.values.group).toBe('row');
    expect(p.values.nsamples).toBe(128);
    expect(p.values['no-bias-correction']).toBe(false);
    expect(p.given.has('sparsity')).toBe(true);
    expect(p.given.has('pattern')).toBe(false);
  });

  it('parses lists and checks their choices', () => {
    const p = parseArgs(['sweep', '--methods', 'wanda, stade', '--sparsities', '0.5,0.7']);
    expect(p.values.methods).toEqual(['wanda', 'stade']);
    expect(p.values.sparsities).toEqual(['0.5', '0.7']);
    expect(usage(['sweep', '--methods', 'wanda,bogus'])).toMatch(/unknown value 'bogus' for --methods/);
    expect(usage(['sweep', '--methods', 'wanda,,stade'])).toMatch(/empty item/);
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['eval', '--modle', 'x'], /unknown flag '--modle' for 'eval'/],
    [['eval', '--seqlen'], /--seqlen needs a value/],
    [['eval', '--seqlen', '--json'], /--seqlen needs a value/],
    [['eval', '--seqlen', 'abc'], /--seqlen expects an integer, got 'abc'/],
    [['eval', '--seqlen', '1.5'], /expects an integer/],
    [['eval', '--seqlen', '0'], /--seqlen must be at least 2, got 0/],
    [['eval', '--threads', '0'], /--threads must be at least 1/],
    [['prune', '--method', 'stade', '--out', 'o', '--nsamples', '0'], /--nsamples must be at least 1/],
    [['prune', '--method', 'stade', '--out', 'o', '--nsamples', '9999999'], /--nsamples must be at most/],
    [['prune', '--method', 'nope', '--out', 'o'], /unknown value 'nope' for --method/],
    [['prune', '--method', 'stade', '--group', 'column', '--out', 'o'], /unknown value 'column' for --group/],
    [['prune', '--method', 'stade', '--sparsity', 'half', '--out', 'o'], /--sparsity expects a number, got 'half'/],
    [['prune', '--out', 'o'], /'prune' needs --method/],
    [['prune', '--method', 'stade'], /'prune' needs --out/],
    [['eval', '--json', '--json'], /given more than once/],
    [['eval', 'extra'], /unexpected argument 'extra'/],
    [['eval', '-m', 'x'], /unknown flag '-m'/],
    [['eval', '--json=yes'], /--json expects true or false/],
  ])('rejects %j', (argv, re) => {
    expect(usage(argv)).toMatch(re);
  });

  it('does not require flags when asking for help', () => {
    expect(parseArgs(['prune', '--help']).values.help).toBe(true);
    expect(parseArgs(['help', 'prune']).command?.name).toBe('prune');
    expect(parseArgs([]).command).toBeNull();
  });
});

describe('help is generated from the spec', () => {
  it('lists every command and every flag', () => {
    const main = mainHelp('1.0.0');
    for (const c of COMMANDS) {
      expect(main).toContain(c.name);
      const h = commandHelp(c);
      for (const f of [...c.flags, ...GLOBAL_FLAGS]) expect(h).toContain(`--${f.name}`);
      for (const e of c.examples) expect(h).toContain(e);
    }
  });

  it('every flag has help text, a valid type and unique names', () => {
    for (const c of COMMANDS) {
      const names = [...c.flags, ...GLOBAL_FLAGS].map((f) => f.name);
      expect(new Set(names).size).toBe(names.length);
      for (const f of c.flags) expect(f.help.length).toBeGreaterThan(5);
    }
  });
});

describe('recipe', () => {
  it('parses patterns', () => {
    expect(parsePattern('unstructured')).toBe('unstructured');
    expect(parsePattern('2:4')).toEqual({ n: 2, m: 4 });
    expect(() => parsePattern('4:2')).toThrow(/not a valid N:M/);
    expect(() => parsePattern('0:4')).toThrow(/not a valid N:M/);
    expect(() => parsePattern('block')).toThrow(/unknown value 'block' for --pattern/);
  });

  it('resolves sparsity for N:M and checks the range', () => {
    expect(resolveSparsity({ n: 2, m: 4 }, undefined)).toBe(0.5);
    expect(resolveSparsity({ n: 2, m: 4 }, 0.5)).toBe(0.5);
    expect(() => resolveSparsity({ n: 2, m: 4 }, 0.6)).toThrow(/--sparsity 0.6 does not match --pattern 2:4/);
    expect(() => resolveSparsity('unstructured', 1)).toThrow(/--sparsity 1 is outside \[0, 1\)/);
    expect(() => resolveSparsity('unstructured', -0.1)).toThrow(/outside/);
    expect(() => resolveSparsity('unstructured', undefined)).toThrow(/needs --sparsity/);
    expect(resolveSparsity('unstructured', 0)).toBe(0);
    expect(parseSparsities(['0.5', '0'])).toEqual([0.5, 0]);
    expect(() => parseSparsities(['1.2'])).toThrow(/outside/);
  });
});
