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

/** This thread's instances, by arena. */
const instances = new Map<WasmMemory, AttnWasm>();

/** This thread's attention instance over arena `mem` (the primary when absent), or null without an arena. */
export function attnWasm(mem?: WasmMemory | null): AttnWasm | null {
  const given = mem ?? arenaMemory();
  if (!given) return null;
  const m = adoptArena(given); // one instance per arena, whichever Memory object the arguments carried
  const have = instances.get(m);
  if (have) return have;
  const b = new ModuleBuilder().importSharedMemory('env', 'memory', 1, ARENA_MAX_PAGES);
  const a = emitAttnDecode();
  b.addFunction('attnDecode', a.params, [], a.locals, a.code);
  const e = emitExpTest();
  b.addFunction('expF32', e.params, [], e.locals, e.code);
  const ex = instantiateSync(b.build(), { env: { memory: m } }).exports as Record<string, F>;
  const made: AttnWasm = { attnDecode: ex.attnDecode!, expF32: ex.expF32! };
  instances.set(m, made);
  return made;
}
