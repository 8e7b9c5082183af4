/**
 * Test reference of the decode dots' summation order (dots_emit.ts) over a row-major W `[rows, kp]`: 16 float32
 * chains (k mod 16), then ((c_l + c_4+l) + (c_8+l + c_12+l)) and the lanes pairwise. Used by dots.test.ts and
 * dots_kblocked.test.ts.
 */
export function naiveDots(x: Float32Array, w: Float32Array, kp: number, row: number): number {
  const c = new Array<number>(16).fill(0);
  for (let k = 0; k < kp; k++) c[k & 15] = Math.fround(c[k & 15]! + Math.fround(x[k]! * w[row * kp + k]!));
  const f = Math.fround;
  const s = [0, 1, 2, 3].map((l) => f(f(c[l]! + c[4 + l]!) + f(c[8 + l]! + c[12 + l]!)));
  return f(f(s[0]! + s[1]!) + f(s[2]! + s[3]!));
}
