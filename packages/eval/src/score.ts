import { type CausalLM, isPackedDecoder, type PackedSegment, segmentPositions, Workspace } from '@stade/transformer';
import type { EncodedPair } from './encode.js';
import { ZeroshotError } from './errors.js';

/** Options of `logLikelihoods`. */
export interface ScoreOptions {
  /** Longest input (the harness's max_length); default and maximum: the model's max_position_embeddings. */
  maxLength?: number;
  /** Rows of logits computed at once by the head (bounds memory: rows x vocab floats). Default: 2^24 / vocab. */
  headRows?: number;
  /** Rows per packed forward pass (several documents' inputs; a longer document runs alone). Default 512. */
  batchRows?: number;
}

/** Counters of the work `logLikelihoods` did (for tokens/s figures). */
export interface ScoreStats {
  /** Distinct inputs scored (one per group of requests where one input is a prefix of the others). */
  forwards: number;
  /** Tokens through the decoder blocks (a context shared by a document's choices counts once). */
  tokens: number;
  /** Rows of logits computed by the head. */
  headRows: number;
}

/** The model input of a request as the harness builds it: `(context + continuation)[-(max + 1):][:-1]`. */
function inputOf(r: EncodedPair, maxLength: number): Int32Array {
  const full = new Int32Array(r.context.length + r.continuation.length);
  full.set(r.context, 0);
  full.set(r.continuation, r.context.length);
  return full.slice(Math.max(0, full.length - maxLength - 1), full.length - 1);
}

function startsWith(a: Int32Array, prefix: Int32Array): boolean {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/** Longest common prefix length of two inputs. */
function commonPrefix(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** A document's pieces in a packed batch: its groups' inputs, the shared context split off when there is one. */
interface DocPlan {
  requests: readonly EncodedPair[];
  inputs: Int32Array[];
  groups: { input: Int32Array; members: number[] }[];
  /** Length of the context shared by every group (run once), or 0. */
  P: number;
}

/** Groups: the longest input first; a request joins a group whose input starts with its own. */
function plan(requests: readonly EncodedPair[], inputs: Int32Array[], share: boolean): DocPlan {
  const order = inputs.map((_, i) => i).sort((a, b) => inputs[b]!.length - inputs[a]!.length || a - b);
  const groups: { input: Int32Array; members: number[] }[] = [];
  for (const i of order) {
    const g = groups.find((g) => startsWith(g.input, inputs[i]!));
    if (g) g.members.push(i);
    else groups.push({ input: inputs[i]!, members: [i] });
  }
  let P = 0;
  if (share && groups.length > 1) {
    const g0 = groups[0]!.input;
    P = groups.reduce((p, g) => Math.min(p, commonPrefix(g0, g.input), g.input.length - 1), g0.length);
  }
  return { requests, inputs, groups, P };
}

/** Rows a document takes in a packed batch. */
function planRows(d: DocPlan): number {
  return d.groups.reduce((s, g) => s + g.input.length - d.P, d.P);
}

/** Log-probability of `target` under float32 logits `x[o .. o+V)` (float64 log-softmax, as crossEntropySum). */
function logProb(x: Float32Array, o: number, V: number, target: number): number {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (x[o + j]! > max) max = x[o + j]!;
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(x[o + j]! - max);
  return x[o + target]! - max - Math.log(s);
}

/**
 * Scores requests as lm-evaluation-harness's `_loglikelihood_tokens` does (see `logLikelihoods`), sharing work
 * between the requests of a document and packing several documents into one forward pass. Owns its buffers
 * (grown to the largest batch, then reused: steady-state scoring allocates no storage).
 */
export class Scorer {
  private readonly maxLength: number;
  private readonly headRows: number;
  private readonly batchRows: number;
  /** Buffers of the packed forward (hidden rows, head input, logits), reused across batches. */
  private readonly ws = new Workspace();

  constructor(
    readonly model: CausalLM,
    opts: ScoreOptions = {},
    readonly stats?: ScoreStats,
  ) {
    this.maxLength = opts.maxLength ?? model.maxPositions;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1 || this.maxLength > model.maxPositions) {
      throw new ZeroshotError(`maxLength must be an integer in [1, ${model.maxPositions}], got ${this.maxLength}`);
    }
    this.headRows = opts.headRows ?? Math.max(1, Math.floor(2 ** 24 / model.vocabSize));
    this.batchRows = opts.batchRows ?? 512;
    if (!Number.isInteger(this.batchRows) || this.batchRows < 1)
      throw new ZeroshotError(`batchRows must be a positive integer, got ${this.batchRows}`);
  }

  /** The model inputs of a document's requests, checked. */
  private inputs(requests: readonly EncodedPair[]): Int32Array[] {
    const { maxLength } = this;
    return requests.map((r) => {
      if (r.context.length === 0 || r.continuation.length === 0)
        throw new ZeroshotError('logLikelihoods: a request has an empty context or continuation');
      if (r.continuation.length > maxLength) {
        throw new ZeroshotError(
          `a continuation of ${r.continuation.length} tokens is longer than the maximum length ${maxLength}`,
        );
      }
      return inputOf(r, maxLength);
    });
  }

  /** Log-likelihood of each request's continuation (see `logLikelihoods`). */
  score(requests: readonly EncodedPair[]): number[] {
    return this.scoreDocs([requests])[0]!;
  }

  /**
   * Log-likelihoods of several documents' requests (one array per document). Documents are packed into forward
   * passes of up to `batchRows` rows (a larger document runs alone): per document the shared context once, then
   * every choice's remaining rows as a segment attending to it (block-diagonal attention, no padding).
   */
  scoreDocs(docs: readonly (readonly EncodedPair[])[]): number[][] {
    const share = isPackedDecoder(this.model);
    const plans = docs.map((reqs) => plan(reqs, this.inputs(reqs), share));
    const out = plans.map((p) => new Array<number>(p.requests.length).fill(0));
    let batch: number[] = [];
    let rows = 0;
    plans.forEach((p, d) => {
      const n = planRows(p);
      if (batch.length > 0 && rows + n > this.batchRows) {
        this.runBatch(plans, batch, out);
        batch = [];
        rows = 0;
      }
      batch.push(d);
      rows += n;
    });
    if (batch.length > 0) this.runBatch(plans, batch, out);
    return out;
  }

  /** One packed forward of documents `which`, adding each continuation's log-probabilities to `out`. */
  private runBatch(plans: DocPlan[], which: number[], out: number[][]): void {
    const { model, ws } = this;
    const segments: PackedSegment[] = [];
    const pieces: Int32Array[] = [];
    // head rows: packed row, target token, document, request
    const headRow: number[] = [];
    const headTarget: number[] = [];
    const headDoc: number[] = [];
    const headReq: number[] = [];
    let N = 0;
    for (const d of which) {
      const p = plans[d]!;
      const ctx = N;
      if (p.P > 0) {
        pieces.push(p.groups[0]!.input.subarray(0, p.P));
        segments.push({ start: N, length: p.P, prefixStart: 0, prefixLength: 0 });
        N += p.P;
      }
      for (const g of p.groups) {
        const start = N;
        pieces.push(g.input.subarray(p.P));
        segments.push({ start, length: g.input.length - p.P, prefixStart: ctx, prefixLength: p.P });
        N += g.input.length - p.P;
        for (const i of g.members) {
          const cont = p.requests[i]!.continuation;
          const T = p.inputs[i]!.length; // input rows T - |cont| .. T - 1 predict the continuation
          for (let c = 0; c < cont.length; c++) {
            const r = T - cont.length + c;
            headRow.push(r < p.P ? ctx + r : start + r - p.P);
            headTarget.push(cont[c]!);
            headDoc.push(d);
            headReq.push(i);
          }
        }
        if (this.stats) this.stats.forwards++;
      }
    }
    const ids = new Int32Array(N);
    let at = 0;
    for (const x of pieces) {
      ids.set(x, at);
      at += x.length;
    }
    const H = model.hiddenSize;
    const h = ws.get('hidden', [N, H]); // [N, hidden]: the packed residual stream
    if (isPackedDecoder(model)) {
      model.embedPositions(ids, segmentPositions(segments, N), h);
      for (let b = 0; b < model.numBlocks; b++) model.block(b, h, { out: h, segments });
    } else {
      // one sequence at a time (planned without shared contexts: every segment runs from position 0)
      for (const s of segments) {
        const hs = h.narrow(0, s.start, s.length);
        model.embed(ids.subarray(s.start, s.start + s.length), hs);
        for (let b = 0; b < model.numBlocks; b++) model.block(b, hs, { out: hs });
      }
    }
    if (this.stats) {
      this.stats.tokens += N;
      this.stats.headRows += headRow.length;
    }
    const V = model.vocabSize;
    const hd = h.data;
    for (let r0 = 0; r0 < headRow.length; r0 += this.headRows) {
      const n = Math.min(this.headRows, headRow.length - r0);
      const x = ws.get('head.in', [n, H]); // [n, hidden]
      for (let r = 0; r < n; r++) x.data.set(hd.subarray(headRow[r0 + r]! * H, (headRow[r0 + r]! + 1) * H), r * H);
      const logits = model.head(x, ws.get('head.logits', [n, V])).data; // [n, vocab]
      for (let r = 0; r < n; r++) {
        out[headDoc[r0 + r]!]![headReq[r0 + r]!]! += logProb(logits, r * V, V, headTarget[r0 + r]!);
      }
    }
  }
}

/**
 * Log-likelihood of each request's continuation as lm-evaluation-harness's `_loglikelihood_tokens` computes
 * it: the input is left-truncated to `maxLength` tokens, and the continuation's log-probabilities (float64 log
 * softmax of the float32 logits) are summed. Requests whose input is a prefix of another's share its forward
 * pass (exact under causal attention), e.g. every choice of a question with one-token answers; the remaining
 * inputs' common prefix (the shared context) runs once and each continues from it in the same packed forward
 * (exact: causal attention over the same keys); the head runs only on the continuation rows. `stats`, when given,
 * accumulates the work done. For many documents, keep one `Scorer` and call `scoreDocs` (batches documents).
 */
export function logLikelihoods(
  model: CausalLM,
  requests: readonly EncodedPair[],
  opts: ScoreOptions = {},
  stats?: ScoreStats,
): number[] {
  return new Scorer(model, opts, stats).score(requests);
}
