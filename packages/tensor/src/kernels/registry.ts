/**
 * The kernel registry: every kernel that can run on the worker pool, by name.
 *
 * A kernel is `(args, rowStart, rowEnd) => void` (see `Kernel` in ../parallel/types.ts). Workers import this
 * module and run `kernels[name](args, rowStart, rowEnd)`, so a kernel is only reachable from `parallelFor`
 * once it is listed here.
 *
 * To add a kernel: import it and add one `'family.name': fn,` line to `kernels` below, in your section.
 * Then call it with `parallelFor('family.name', args, rows, { costPerRow })` (args: numbers, strings and
 * typed arrays from allocF32/allocF64, i.e. on SharedArrayBuffer).
 */
import { poolTestKernels } from '../parallel/test-kernels.js';
import type { Kernel } from '../parallel/types.js';
import { attnDecodeKernel } from '../wasm/attn_kernel.js';
import { binaryRows, unaryBlocks } from './elementwise_rows.js';
import { lowerInversePairs } from './linalg.js';
import { cholPanelUnits, cholTrailPairs, packLowerCols, triInvPairs } from './linalg_chol.js';
import { sweepRows } from './linalg_sweep.js';
import { subProductRows } from './linalg_update.js';
import { axpyRowsWasmKernel } from './matmul_axpy.js';
import { matmulJsKernel, matvecJsKernel } from './matmul_js.js';
import { matmulWasmColsKernel, matmulWasmKernel, matvecWasmKernel } from './matmul_wasm.js';
import { matmulWasmWColsKernel, matmulWasmWKernel } from './matmul_wasm_w.js';
import { matvecGroupKernel } from './matvec_group.js';
import { layerNormRows, rmsNormRows, rotaryRows, softmaxRows } from './nn.js';
import { packedMatvecGroupKernel } from './packed_decode.js';
import { packedJsKernel } from './packed_js.js';
import { packedGemmWasmKernel, packedMatvecWasmKernel } from './packed_wasm.js';
import { reduceRows } from './reduce.js';
import { argsortRowsKernel, kthRows } from './select.js';
import { columnMomentsCols, xtxRows } from './stats.js';

export type { Kernel, KernelArg, KernelArgs, TypedArray } from '../parallel/types.js';

export const kernels = {
  // --- pool self-tests (parallel/test-kernels.ts) ---
  ...poolTestKernels,

  // --- matmul / linear (engineer A) ---
  'matmul.wasm': matmulWasmKernel,
  'matmul.wasmCols': matmulWasmColsKernel,
  'matmul.wasmW': matmulWasmWKernel,
  'matmul.wasmWCols': matmulWasmWColsKernel,
  'matmul.matvecWasm': matvecWasmKernel,
  'matmul.js': matmulJsKernel,
  'matmul.matvecJs': matvecJsKernel,
  'matmul.axpy': axpyRowsWasmKernel,
  'matmul.matvecGroup': matvecGroupKernel,
  'packed.js': packedJsKernel,
  'packed.matvecWasm': packedMatvecWasmKernel,
  'packed.gemmWasm': packedGemmWasmKernel,
  'packed.matvecGroup': packedMatvecGroupKernel,
  'attn.decode': attnDecodeKernel,

  // --- row ops: nn, reduce, stats, select (engineer B) ---
  'ew.unary': unaryBlocks,
  'ew.binary': binaryRows,
  'nn.softmax': softmaxRows,
  'nn.layerNorm': layerNormRows,
  'nn.rmsNorm': rmsNormRows,
  'nn.rotary': rotaryRows,
  'reduce.axis': reduceRows,
  'stats.columnMoments': columnMomentsCols,
  'stats.xtx': xtxRows,
  'select.kth': kthRows,
  'select.argsort': argsortRowsKernel,

  // --- float64 linear algebra (ops/linalg.ts) ---
  'linalg.lowerInverse': lowerInversePairs,
  'linalg.subProduct': subProductRows,
  // --- float32 SIMD linear algebra (ops/linalg_f32.ts) ---
  'linalg.cholPanel': cholPanelUnits,
  'linalg.cholTrail': cholTrailPairs,
  'linalg.packCols': packLowerCols,
  'linalg.triInv': triInvPairs,
  'linalg.sweep': sweepRows,
} satisfies Record<string, Kernel>;

/** The name of a registered kernel. */
export type KernelName = keyof typeof kernels;

/** The argument object kernel `K` expects. */
export type KernelArgsOf<K extends KernelName> = Parameters<(typeof kernels)[K]>[0];
