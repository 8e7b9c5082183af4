/**
 * The resident module: the decode (matrix-vector) kernels of the matmul module and all packed kernels, compiled against
 * the shared arena memory (arena.ts) instead of a memory of their own, so they read resident weights in place.
 * Same emitters, same summation order: results are bit-identical to the copying kernels.
 */

import { instantiateSync, type WasmMemory } from './api.js';
import { ARENA_MAX_PAGES, adoptArena, arenaMemory } from './arena.js';
import { emitDots } from './dots_emit.js';
import { ModuleBuilder } from './emitter.js';
import { addPackedKernels } from './packed_module.js';
import { relaxedSimdSupported } from './runtime.js';

type F = (...args: number[]) => number;

function buildResidentModule(fma: boolean): Uint8Array {
  const m = new ModuleBuilder().importSharedMemory('env', 'memory', 1, ARENA_MAX_PAGES);
  const o = { fma, reloadB: false };
  for (const [name, kind] of [
    ['dots', 'f32'],
    ['dotsBf16', 'bf16'],
    ['dotsF16', 'f16'],
    ['dotsF16Finite', 'f16finite'],
    ['dotsF16Scaled', 'f16scaled'],
  ] as const) {
    const d = emitDots(o, kind);
    m.addFunction(name, d.params, d.results, d.locals, d.code);
    if (kind === 'f32') continue;
    // k-blocked 16-bit W (kblocked.ts)
    const b = emitDots(o, kind, true);
    m.addFunction(`${name}K`, b.params, b.results, b.locals, b.code);
  }
  addPackedKernels(m);
  return m.build();
}

/** One thread's instance of the resident module. */
export interface ResidentWasm {
  /** Dense dots (see dots_emit.ts): f32, bf16, f16, f16 finite-only, f16 for x scaled by 2^112. */
  dots: F;
  dotsBf16: F;
  dotsF16: F;
  dotsF16Finite: F;
  dotsF16Scaled: F;
  /** The same over k-blocked 16-bit W, one k block per call (dots_emit.ts, `blocked`). */
  dotsBf16K: F;
  dotsF16K: F;
  dotsF16FiniteK: F;
  dotsF16ScaledK: F;
  /** Packed kernels by value kind (0 float32, 1 bfloat16, 2 float16), as in packed_module.ts. */
  dots24: F[];
  dotsSparse: F[];
  tile24: F[];
  tileSparse: F[];
  /** The 2:4 decode's x table (packed_module.ts's emitX36). */
  x36: F;
}

/** This thread's instances, by arena. */
const instances = new Map<WasmMemory, ResidentWasm>();

/**
 * This thread's resident instance over the arena `mem` (the primary arena when absent; a pool worker adopts the
 * caller's arena from the kernel arguments), or null when the calling thread has no arena.
 */
export function residentWasm(mem?: WasmMemory | null): ResidentWasm | null {
  const given = mem ?? arenaMemory();
  if (!given) return null;
  const m = adoptArena(given); // one instance per arena, whichever Memory object the arguments carried
  const have = instances.get(m);
  if (have) return have;
  const inst = instantiateSync(buildResidentModule(relaxedSimdSupported()), { env: { memory: m } });
  const e = inst.exports as Record<string, F>;
  const kinds = (name: string) => ['F32', 'Bf16', 'F16'].map((s) => e[name + s]!);
  const made: ResidentWasm = {
    dots: e.dots!,
    dotsBf16: e.dotsBf16!,
    dotsF16: e.dotsF16!,
    dotsF16Finite: e.dotsF16Finite!,
    dotsF16Scaled: e.dotsF16Scaled!,
    dotsBf16K: e.dotsBf16K!,
    dotsF16K: e.dotsF16K!,
    dotsF16FiniteK: e.dotsF16FiniteK!,
    dotsF16ScaledK: e.dotsF16ScaledK!,
    dots24: kinds('dots24'),
    dotsSparse: kinds('dotsSparse'),
    tile24: kinds('tile24'),
    tileSparse: kinds('tileSparse'),
    x36: e.x36!,
  };
  instances.set(m, made);
  return made;
}
