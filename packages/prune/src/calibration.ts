import { PruneError } from './errors.js';
import { Rng } from './rng.js';

/** SPEC 2 default window length: min(2048, max_position_embeddings). */
export function defaultSeqlen(maxPositions: number): number {
  return Math.min(2048, maxPositions);
}

/** Checks a window length against the model's maximum positions. */
export function checkSeqlen(seqlen: number, maxPositions: number): number {
  if (!Number.isInteger(seqlen) || seqlen < 1) throw new PruneError(`seqlen ${seqlen} must be a positive integer`);
  if (seqlen > maxPositions)
    throw new PruneError(`seqlen ${seqlen} exceeds the model's max_position_embeddings ${maxPositions}`);
  return seqlen;
}

function checkCounts(nsamples: number, seqlen: number): void {
  if (!Number.isInteger(nsamples) || nsamples < 1)
    throw new PruneError(`nsamples ${nsamples} must be a positive integer`);
  if (!Number.isInteger(seqlen) || seqlen < 1) throw new PruneError(`seqlen ${seqlen} must be a positive integer`);
}

/**
 * `random` sampling (reference behaviour): for each window, repeatedly pick a random document until one has more
 * than `seqlen` tokens, then a random start i in [0, len - seqlen - 1]; the window is ids[i, i + seqlen).
 */
export function randomWindows(
  docs: readonly Int32Array[],
  opts: { nsamples: number; seqlen: number; seed: number },
): Int32Array[] {
  const { nsamples, seqlen, seed } = opts;
  checkCounts(nsamples, seqlen);
  let longest = 0;
  let eligible = 0;
  for (const d of docs) {
    longest = Math.max(longest, d.length);
    if (d.length > seqlen) eligible++;
  }
  if (eligible === 0) {
    throw new PruneError(
      `not enough calibration text: random sampling needs a document of more than ${seqlen} tokens; the longest of ${docs.length} documents has ${longest} tokens`,
    );
  }
  const rng = new Rng(seed);
  const out: Int32Array[] = [];
  for (let s = 0; s < nsamples; s++) {
    let doc: Int32Array;
    do doc = docs[rng.int(0, docs.length - 1)]!;
    while (doc.length <= seqlen);
    const i = rng.int(0, doc.length - seqlen - 1);
    out.push(doc.slice(i, i + seqlen));
  }
  return out;
}

/**
 * `contiguous` sampling: `ids` is the whole calibration text tokenised once (documents joined by "\n\n" by the caller);
 * the windows are its first `nsamples` non-overlapping slices of `seqlen` tokens.
 */
export function contiguousWindows(ids: Int32Array, opts: { nsamples: number; seqlen: number }): Int32Array[] {
  const { nsamples, seqlen } = opts;
  checkCounts(nsamples, seqlen);
  const need = nsamples * seqlen;
  if (ids.length < need) {
    throw new PruneError(
      `not enough calibration text: found ${ids.length} tokens, need ${need} (${nsamples} windows of ${seqlen} tokens)`,
    );
  }
  const out: Int32Array[] = [];
  for (let s = 0; s < nsamples; s++) out.push(ids.slice(s * seqlen, (s + 1) * seqlen));
  return out;
}
