import { UsageError } from './errors.js';

/** A sparsity pattern: unstructured, or N pruned in every M consecutive inputs. */
export type Pattern = 'unstructured' | { n: number; m: number };

/** Parses `unstructured` or `N:M` (1 <= N < M <= 1024). */
export function parsePattern(raw: string, flag = '--pattern'): Pattern {
  if (raw === 'unstructured') return 'unstructured';
  const m = /^(\d+):(\d+)$/.exec(raw.trim());
  if (!m) throw new UsageError(`unknown value '${raw}' for ${flag} (expected unstructured or N:M such as 2:4)`);
  const n = Number(m[1]);
  const mm = Number(m[2]);
  if (!(n >= 1 && n < mm && mm <= 1024)) {
    throw new UsageError(`${flag} ${raw} is not a valid N:M pattern (need 1 <= N < M <= 1024)`);
  }
  return { n, m: mm };
}

/** `unstructured` or `N:M`. */
export function patternName(p: Pattern): string {
  return p === 'unstructured' ? 'unstructured' : `${p.n}:${p.m}`;
}

/** Checks a sparsity is in [0, 1). */
export function checkSparsity(s: number, flag = '--sparsity'): number {
  if (!(Number.isFinite(s) && s >= 0 && s < 1)) {
    throw new UsageError(`${flag} ${s} is outside [0, 1)`);
  }
  return s;
}

/**
 * The sparsity a prune run uses: for N:M it is N/M (giving another value is an error), otherwise the
 * given value, which must be in [0, 1).
 */
export function resolveSparsity(pattern: Pattern, sparsity: number | undefined): number {
  if (pattern === 'unstructured') {
    if (sparsity === undefined) throw new UsageError("'prune' needs --sparsity S (or an N:M --pattern)");
    return checkSparsity(sparsity);
  }
  const implied = pattern.n / pattern.m;
  if (sparsity !== undefined && Math.abs(sparsity - implied) > 1e-9) {
    throw new UsageError(
      `--sparsity ${sparsity} does not match --pattern ${patternName(pattern)} (an N:M pattern has sparsity N/M = ${implied})`,
    );
  }
  return implied;
}

/** Parses a comma list of sparsities, each in [0, 1). */
export function parseSparsities(items: readonly string[]): number[] {
  return items.map((raw) => {
    const v = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(v)) throw new UsageError(`--sparsities expects numbers, got '${raw}'`);
    return checkSparsity(v, '--sparsities value');
  });
}
