/**
 * The pool kernel of `decodeAttention` (ops/attention_decode.ts): heads [h0, h1) of every new query row, run by
 * the calling thread or a pool worker on its own instance of the attention module over the shared arena. Each
 * head's result is computed the same way whatever the split: same bits for any thread count.
 */
import type { SharedWasmMemory } from '../parallel/types.js';
import { arenaScratch, arenaViews } from './arena.js';
import { attnWasm } from './attn_runtime.js';

/** Arguments of the 'attn.decode' kernel (byte offsets into the arena for the cache). */
export interface AttnDecodeArgs {
  readonly arena: SharedWasmMemory;
  /** [T, H*D], already rotated and scaled. */
  readonly q: Float32Array;
  /** [T, H*D]: the kernel writes heads [h0, h1) of every row. */
  readonly out: Float32Array;
  /** Byte offsets of the block's keys and values ([KV, L, D]) in the arena. */
  readonly kp: number;
  readonly vp: number;
  readonly H: number;
  readonly rep: number;
  readonly D: number;
  readonly L: number;
  readonly len: number;
  readonly T: number;
  /** Window, 0 for none. */
  readonly W: number;
}

/** Runs heads [h0, h1): q staged in this thread's arena scratch, the outputs copied back row by row. */
export function attnDecodeKernel(a: AttnDecodeArgs, h0: number, h1: number): void {
  const w = attnWasm(a.arena)!;
  const qBytes = a.q.length * 4;
  const base = arenaScratch(2 * qBytes + (a.len + 4) * 4, a.arena);
  const f = arenaViews(a.arena).f32;
  f.set(a.q, base / 4);
  const o = base + qBytes;
  w.attnDecode(base, a.kp, a.vp, o, o + qBytes, a.H, a.rep, a.D, a.L, a.len, a.T, a.W, h0, h1);
  const row = a.H * a.D;
  for (let t = 0; t < a.T; t++) {
    const s = t * row + h0 * a.D;
    const e = t * row + h1 * a.D;
    a.out.set(f.subarray(o / 4 + s, o / 4 + e), s);
  }
}
