/**
 * Deterministic row partitioning for the pool: the same (rows, chunks, align) always gives the same ranges.
 */

/** Options that decide how many threads a `parallelFor` call uses. */
export interface SplitOptions {
  /** Estimated cost of one row in nanoseconds (default 1000). Work below ~0.5 ms in total stays inline. */
  costPerRow?: number;
  /** Never give a thread fewer rows than this (default 1). */
  minRowsPerThread?: number;
  /** Chunk starts are multiples of this (default 1), e.g. 4 or 12 to match a kernel's register block. */
  align?: number;
}

/** Total work (ns) below which a call runs inline: a worker wake-up costs ~40-50 µs round trip. */
export const INLINE_BELOW_NS = 500_000;
/** Each extra thread should get at least this much work (ns). */
export const MIN_NS_PER_THREAD = 250_000;
/**
 * The same two limits while the workers are polling for work (a split ended within the last millisecond: decode
 * steps post a job every few hundred µs): a job then reaches them in about a microsecond, so work of a few tens
 * of µs (a decode step's attention) is worth splitting.
 */
export const HOT_INLINE_BELOW_NS = 40_000;
export const HOT_MIN_NS_PER_THREAD = 20_000;
export const DEFAULT_COST_PER_ROW_NS = 1000;

function positiveInt(v: number | undefined, def: number, what: string): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`parallelFor: ${what} must be an integer >= 1, got ${v}`);
  return v;
}

/**
 * How many chunks a call of `rows` rows should be split into when `threads` threads are available (`hot`: the
 * workers are polling, see HOT_INLINE_BELOW_NS).
 */
export function chunkCount(rows: number, threads: number, opts: SplitOptions = {}, hot = false): number {
  const cost = opts.costPerRow ?? DEFAULT_COST_PER_ROW_NS;
  if (!(cost >= 0)) throw new RangeError(`parallelFor: costPerRow must be a number >= 0, got ${cost}`);
  const minRows = positiveInt(opts.minRowsPerThread, 1, 'minRowsPerThread');
  const align = positiveInt(opts.align, 1, 'align');
  const total = rows * cost;
  if (threads <= 1 || rows <= 1 || total < (hot ? HOT_INLINE_BELOW_NS : INLINE_BELOW_NS)) return 1;
  const units = Math.ceil(rows / align);
  const perThread = hot ? HOT_MIN_NS_PER_THREAD : MIN_NS_PER_THREAD;
  return Math.max(1, Math.min(threads, units, Math.floor(rows / minRows), Math.floor(total / perThread)));
}

/**
 * Splits [0, rows) into `chunks` contiguous, ordered, non-empty ranges as even as possible, with every start
 * a multiple of `align` (the last range may be short). Returns [start, end) pairs.
 */
export function splitRows(rows: number, chunks: number, align = 1): [number, number][] {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`splitRows: invalid row count ${rows}`);
  const units = Math.ceil(rows / align);
  const n = Math.max(1, Math.min(chunks, units));
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const u0 = Math.floor((i * units) / n);
    const u1 = Math.floor(((i + 1) * units) / n);
    out.push([Math.min(rows, u0 * align), Math.min(rows, u1 * align)]);
  }
  return out;
}
