/**
 * The attention module: the decode-attention kernel (attn_emit.ts) compiled against the shared arena memory
 * (arena.ts), so that it reads a KV cache held there in place. One instance per thread, made on first use.
 */
import { instantiateSync, type WasmMemory } from './api.js';
import { ARENA_MAX_PAGES, adoptArena, arenaMemory } from './arena.js';
import { emitAttnDecode, emitExpTest } from './attn_emit.js';
import { ModuleBuilder } from './emitter.js';

type F = (...args: number[]) => void;

/** One thread's instance of the attention module (byte pointers into the arena). */
export interface AttnWasm {
  /** attnDecode(qp, kp, vp, outp, sp, H, rep, D, L, len, T, W, h0, h1): see emitAttnDecode. */
  attnDecode: F;
  /** expF32(src, dst, n): the kernel's e^x over n floats (n a multiple of 4), for tests. */
  expF32: F;
}

let instance: AttnWasm | null = null;

/** This thread's attention instance over the arena (a pool worker passes the caller's), or null without one. */
export function attnWasm(mem?: WasmMemory | null): AttnWasm | null {
  if (instance) return instance;
  if (mem) adoptArena(mem);
  const m = mem ?? arenaMemory();
  if (!m) return null;
  const b = new ModuleBuilder().importSharedMemory('env', 'memory', 1, ARENA_MAX_PAGES);
  const a = emitAttnDecode();
  b.addFunction('attnDecode', a.params, [], a.locals, a.code);
  const e = emitExpTest();
  b.addFunction('expF32', e.params, [], e.locals, e.code);
  const ex = instantiateSync(b.build(), { env: { memory: m } }).exports as Record<string, F>;
  instance = { attnDecode: ex.attnDecode!, expF32: ex.expF32! };
  return instance;
}
