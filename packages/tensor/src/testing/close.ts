/** `expectClose`: element-wise closeness with NaN/Inf checks and a report naming the worst element. */
import { fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';

export interface CloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Prefix for the error message. */
  message?: string;
}

type Numeric = Tensor | ArrayLike<number> | number;

function flat(x: Numeric): { values: ArrayLike<number>; shape: readonly number[] | null } {
  if (x instanceof Tensor) return { values: x.values(), shape: x.shape };
  if (typeof x === 'number') return { values: [x], shape: null };
  return { values: x, shape: null };
}

function multiIndex(i: number, shape: readonly number[] | null): string {
  if (!shape || shape.length <= 1) return `${i}`;
  const idx: number[] = new Array(shape.length);
  let r = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = r % shape[d]!;
    r = Math.floor(r / shape[d]!);
  }
  return `${i} ${fmtShape(idx)}`;
}

/**
 * Throws an Error unless every element satisfies `|a - e| <= atol + rtol * |e|` (like `torch.allclose`).
 * NaN must face NaN and an infinity must face the same infinity. When both sides are Tensors their shapes
 * must match; otherwise only their lengths. The message names the worst element, its values, the number
 * of failures and the shapes. Works with any test runner (plain Error, no runner import).
 */
export function expectClose(actual: Numeric, expected: Numeric, opts: CloseOptions = {}): void {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-6;
  const a = flat(actual);
  const e = flat(expected);
  const pre = opts.message ? `${opts.message}: ` : '';
  const shapes = `actual shape ${a.shape ? fmtShape(a.shape) : `(length ${a.values.length})`}, expected shape ${
    e.shape ? fmtShape(e.shape) : `(length ${e.values.length})`
  }`;
  if (a.shape && e.shape && fmtShape(a.shape) !== fmtShape(e.shape)) {
    throw new Error(`${pre}expectClose: shape mismatch: ${shapes}`);
  }
  if (a.values.length !== e.values.length) throw new Error(`${pre}expectClose: length mismatch: ${shapes}`);
  const shape = e.shape ?? a.shape;
  let failures = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  let firstSpecial = -1;
  let maxAbs = 0;
  for (let i = 0; i < e.values.length; i++) {
    const x = a.values[i]!;
    const y = e.values[i]!;
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
      const same = (Number.isNaN(x) && Number.isNaN(y)) || x === y;
      if (!same) {
        failures++;
        if (firstSpecial < 0) firstSpecial = i;
      }
      continue;
    }
    const d = Math.abs(x - y);
    if (d > maxAbs) maxAbs = d;
    const excess = d - (atol + rtol * Math.abs(y));
    if (excess > 0) {
      failures++;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (failures === 0) return;
  const at = firstSpecial >= 0 ? firstSpecial : worst;
  const kind = firstSpecial >= 0 ? 'NaN/Inf mismatch' : 'worst';
  throw new Error(
    `${pre}expectClose: ${failures} of ${e.values.length} elements differ (rtol ${rtol}, atol ${atol}); ` +
      `${kind} at index ${multiIndex(at, shape)}: actual ${a.values[at]} vs expected ${e.values[at]}` +
      ` (|diff| ${Math.abs(a.values[at]! - e.values[at]!)}, max |diff| ${maxAbs}); ${shapes}`,
  );
}
