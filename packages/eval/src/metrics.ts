import { pyLen } from './pystr.js';

/** Index of the largest value, ties to the lowest index (numpy's argmax). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** acc_norm's prediction: argmax of log-likelihood / length in characters (code points) of each choice. */
export function argmaxNorm(lls: readonly number[], choices: readonly string[]): number {
  return argmax(lls.map((ll, i) => ll / pyLen(choices[i]!)));
}

/** The harness's `mean_stderr`: sample standard deviation / sqrt(n); null when n < 2 (the harness's "N/A"). */
export function meanStderr(xs: readonly number[]): number | null {
  const n = xs.length;
  if (n < 2) return null;
  let mu = 0;
  for (const x of xs) mu += x;
  mu /= n;
  let ss = 0;
  for (const x of xs) ss += (x - mu) ** 2;
  return Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
}

/** Mean of a list (0 for an empty one). */
export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length ? s / xs.length : 0;
}
