/**
 * Per-row selection kernels: k-th smallest by quickselect on a scratch copy, and a stable ascending argsort
 * by LSD radix sort of order-preserving float keys. NaN sorts after everything; -0 equals 0.
 */

export type KthArgs = {
  readonly x: Float32Array; // [rows, cols] contiguous from xOff
  readonly xOff: number;
  readonly cols: number;
  readonly k: number;
  readonly out: Float32Array; // [rows]
};

function insertionSort(a: Float32Array | Float64Array, lo: number, hi: number): void {
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

/** The k-th smallest (0-based) of a[0..m) (no NaN); reorders `a`. Median-of-3 Hoare quickselect, sort fallback. */
export function quickselect(a: Float32Array | Float64Array, m: number, k: number): number {
  let lo = 0;
  let hi = m - 1;
  let budget = 2 * Math.ceil(Math.log2(m + 1)) + 8;
  while (hi > lo) {
    if (hi - lo < 16 || budget-- <= 0) {
      if (hi - lo < 16) insertionSort(a, lo, hi);
      else a.subarray(lo, hi + 1).sort();
      return a[k]!;
    }
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : Math.max(x, z)) : x < z ? x : Math.max(y, z);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** out[r] = k-th smallest (0-based) of row r; NaN when k falls among the row's NaNs. */
export function kthRows(args: KthArgs, rowStart: number, rowEnd: number): void {
  const { x, xOff, cols, k, out } = args;
  const scratch = new Float32Array(cols);
  for (let r = rowStart; r < rowEnd; r++) {
    const o = xOff + r * cols;
    let m = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[o + j]!;
      if (!Number.isNaN(v)) scratch[m++] = v;
    }
    out[r] = k < m ? quickselect(scratch, m, k) : Number.NaN;
  }
}

export type ArgsortArgs = {
  readonly x: Float32Array; // [rows, cols] contiguous from xOff
  readonly xOff: number;
  readonly cols: number;
  readonly out: Int32Array; // [rows, cols]
};

/** Stable ascending argsort of each row (radix sort on 11/11/10-bit digits of monotone keys). */
export function argsortRowsKernel(args: ArgsortArgs, rowStart: number, rowEnd: number): void {
  const { x, xOff, cols, out } = args;
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const keyA = new Uint32Array(cols);
  const keyB = new Uint32Array(cols);
  const idxA = new Int32Array(cols);
  const idxB = new Int32Array(cols);
  const count = new Uint32Array(2048);
  for (let r = rowStart; r < rowEnd; r++) {
    const o = xOff + r * cols;
    for (let j = 0; j < cols; j++) {
      let b = bits[o + j]!;
      // Monotone keys: NaN after +Inf, -0 equal to +0, negatives bit-flipped below positives.
      if ((b & 0x7fffffff) > 0x7f800000) b = 0xffffffff;
      else if (b === 0x80000000 || (b & 0x80000000) === 0) b = (b | 0x80000000) >>> 0;
      else b = ~b >>> 0;
      keyA[j] = b;
      idxA[j] = j;
    }
    let ks = keyA;
    let is = idxA;
    let kd = keyB;
    let id = idxB;
    for (let shift = 0; shift < 32; shift += 11) {
      const mask = shift === 22 ? 0x3ff : 0x7ff;
      count.fill(0);
      for (let j = 0; j < cols; j++) count[(ks[j]! >>> shift) & mask]++;
      let sum = 0;
      for (let d = 0; d <= mask; d++) {
        const c = count[d]!;
        count[d] = sum;
        sum += c;
      }
      for (let j = 0; j < cols; j++) {
        const p = count[(ks[j]! >>> shift) & mask]++;
        kd[p] = ks[j]!;
        id[p] = is[j]!;
      }
      [ks, kd] = [kd, ks];
      [is, id] = [id, is];
    }
    out.set(is, r * cols);
  }
}
