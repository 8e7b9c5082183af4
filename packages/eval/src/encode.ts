import { ZeroshotError } from './errors.js';
import { pyRstrip } from './pystr.js';

/** A tokenizer as the harness calls it: text -> ids, without special tokens. */
export type Encode = (text: string) => Int32Array;

/** The token ids of one (context, continuation) request. */
export interface EncodedPair {
  context: Int32Array;
  continuation: Int32Array;
}

function concat(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * lm-evaluation-harness's `_encode_pair` for decoder-only models: the context's trailing whitespace moves to
 * the continuation; the continuation's ids are the tail of `encode(context + continuation)` after the first
 * `encode(context).length` ids. With `bos` (the harness's add_bos_token) both encodings start with that id.
 */
export function encodePair(
  encode: Encode,
  context: string,
  continuation: string,
  bos: number | null = null,
): EncodedPair {
  if (context === '') throw new ZeroshotError('encodePair: the context is empty');
  const ctx = pyRstrip(context);
  const moved = context.slice(ctx.length);
  let whole = encode(ctx + moved + continuation);
  let head = encode(ctx);
  if (bos !== null) {
    const b = Int32Array.of(bos);
    whole = concat(b, whole);
    head = concat(b, head);
  }
  const cont = whole.slice(head.length);
  if (cont.length === 0) {
    throw new ZeroshotError(`encodePair: the continuation ${JSON.stringify(continuation)} encodes to no tokens`);
  }
  return { context: head, continuation: cont };
}
