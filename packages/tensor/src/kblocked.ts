/**
 * The k-blocked layout of a 16-bit W `[n, k]` with long rows (HalfTensor `kBlock` > 0): k blocks of `kb` inputs
 * one after the other, each block row after row ("all rows' block 0, then all rows' block 1, ..."; the last block
 * is k - (blocks - 1) * kb wide). Element (r, c) sits at `n * kb * b + r * width(b) + (c - b * kb)`, b = c / kb.
 * The decode reads one block of every row of its share while that block of x stays in L1, W still one sequential
 * stream per thread (wasm/dots_emit.ts); results are bit-identical to the row-major layout.
 */

/** Inputs per k block (a multiple of 16; measured: 2048 and 1024 alike, see dots_emit.ts). */
export const KBLOCK = 2048;
/** Rows of at least this many inputs are stored k-blocked (at k = 3072 the blocked decode lost: 0.85x). */
export const KBLOCK_MIN_K = 4096;

let testBlock: { kb: number; minK: number } | null = null;

/** @internal Tests: a small block size and threshold (absent: the defaults). Main thread only (layout choice). */
export function setKBlockForTests(kb?: number, minK?: number): void {
  testBlock = kb === undefined ? null : { kb, minK: minK ?? 0 };
}

/** The k block for a 16-bit W of `k` inputs stored resident (0: row-major). Needs k a multiple of 16. */
export function kBlockFor(k: number): number {
  const kb = testBlock?.kb ?? KBLOCK;
  const minK = testBlock?.minK ?? KBLOCK_MIN_K;
  return k % 16 === 0 && k >= minK && k > kb ? kb : 0;
}

/**
 * Copies rows [r0, r0 + cnt) of a k-blocked W `[n, k]` (`src`) as row-major rows into `dst`, row j at
 * `dstOff + j * pitch`; with `kb` 0, `src` is row-major.
 */
export function readRowsKBlocked(
  src: Uint16Array,
  n: number,
  k: number,
  kb: number,
  r0: number,
  cnt: number,
  dst: Uint16Array,
  dstOff: number,
  pitch: number,
): void {
  if (kb === 0) {
    for (let j = 0; j < cnt; j++) dst.set(src.subarray((r0 + j) * k, (r0 + j + 1) * k), dstOff + j * pitch);
    return;
  }
  for (let b0 = 0; b0 < k; b0 += kb) {
    const bw = Math.min(kb, k - b0);
    let s = n * b0 + r0 * bw;
    for (let j = 0; j < cnt; j++, s += bw) dst.set(src.subarray(s, s + bw), dstOff + j * pitch + b0);
  }
}

/** Writes row-major rows [r0, r0 + cnt) of W `[n, k]` (`src`, row j at `j * k`) into the k-blocked `dst`. */
export function writeRowsKBlocked(
  src: Uint16Array,
  n: number,
  k: number,
  kb: number,
  r0: number,
  cnt: number,
  dst: Uint16Array,
): void {
  for (let b0 = 0; b0 < k; b0 += kb) {
    const bw = Math.min(kb, k - b0);
    let d = n * b0 + r0 * bw;
    for (let j = 0; j < cnt; j++, d += bw) dst.set(src.subarray(j * k + b0, j * k + b0 + bw), d);
  }
}

/** Copies inputs [c0, c0 + len) of row `row` of a k-blocked W `[n, k]` (`src`) to `dst[dstOff..]`. */
export function readSegKBlocked(
  src: Uint16Array,
  n: number,
  k: number,
  kb: number,
  row: number,
  c0: number,
  len: number,
  dst: Uint16Array,
  dstOff: number,
): void {
  for (let c = c0; c < c0 + len; ) {
    const b0 = c - (c % kb);
    const bw = Math.min(kb, k - b0);
    const m = Math.min(b0 + bw, c0 + len) - c;
    const s = n * b0 + row * bw + (c - b0);
    dst.set(src.subarray(s, s + m), dstOff + (c - c0));
    c += m;
  }
}
