/**
 * `matmul` and `linear`. Both read strided views directly (panels are packed from any strides; W is never
 * transposed or copied as a tensor) and return fresh contiguous tensors.
 */

import { resolveBackend } from '../config.js';
import { fmtShape, shapeMismatch, TensorError } from '../errors.js';
import { HALF_CODE, HalfTensor } from '../half.js';
import { GROUP_MAX } from '../kernels/matvec_group.js';
import { broadcastShapes, broadcastStrides, numel } from '../layout.js';
import { PackedWeight } from '../packed.js';
import { parallelFor } from '../parallel/pool.js';
import { allocF32, allocF64 } from '../storage.js';
import { Tensor } from '../tensor.js';
import type { WasmMemory } from '../wasm/api.js';
import { arenaOf, arenaOffset } from '../wasm/arena.js';
import { decodeWeight } from '../wasm/resident.js';
import { MATVEC_MAX_ROWS, residentCost, runGemm } from './matmul_dispatch.js';
import { packedLinear, packedLinearGroup } from './packed_linear.js';

const EMPTY = allocF32(0);
// Offsets of a single (batch 1) gemm, reused by every call so steady loops allocate nothing.
const OFF_A = allocF64(1);
const OFF_B = allocF64(1);
// Per-weight [n, arena offset, bias offset, bias stride] of a linearGroup call (reused like OFF_A).
const GROUP_META = allocF64(4 * GROUP_MAX);

/** The output tensor: a fresh one, or `out` after checking its shape, layout and that it aliases no input. */
function outputFor(
  op: string,
  shape: number[],
  out: Tensor | undefined,
  inputs: ({ data: ArrayBufferView } | { values: ArrayBufferView } | null | undefined)[],
): Tensor {
  if (!out) return Tensor.zeros(shape);
  if (fmtShape(out.shape) !== fmtShape(shape)) shapeMismatch(op, out.shape, shape, 'output shape');
  if (!out.contiguous) throw new TensorError(`${op}: output must be contiguous, got strides ${fmtShape(out.strides)}`);
  for (const t of inputs) {
    if (t && ('data' in t ? t.data : t.values).buffer === out.data.buffer)
      throw new TensorError(`${op}: the output must not share storage with an input`);
  }
  return out;
}

/** The output's elements as a dense array starting at element 0 (the kernels write rows from 0). */
const dense = (t: Tensor): Float32Array =>
  t.offset === 0 && t.data.length === t.size ? t.data : t.data.subarray(t.offset, t.offset + t.size);

/** Views the leading dims of `t` ([..., k]) as rows `[rows, k]` without a copy when the layout allows it. */
function rowsView(t: Tensor): { t: Tensor; rows: number; rowStride: number } {
  const nd = t.ndim;
  const k = t.shape[nd - 1]!;
  const rows = numel(t.shape.slice(0, -1));
  if (nd === 1) return { t, rows: 1, rowStride: k };
  // Collapse the leading dims: they must step by a single stride (size-1 dims are free).
  let stride = -1;
  let ok = true;
  for (let i = nd - 2; i >= 0; i--) {
    const d = t.shape[i]!;
    if (d === 1) continue;
    if (stride === -1) stride = t.strides[i]!;
    else {
      // the next outer non-trivial dim must equal stride * (product of inner dims)
      let inner = 1;
      for (let j = i + 1; j < nd - 1; j++) inner *= t.shape[j]!;
      if (t.strides[i] !== stride * inner) ok = false;
    }
  }
  if (ok) return { t, rows, rowStride: stride === -1 ? k : stride };
  const c = t.clone();
  return { t: c, rows, rowStride: k };
}

/**
 * Matrix product. 2-D `[m, k] x [k, n] -> [m, n]`, or batched `[..., m, k] x [..., k, n] -> [..., m, n]`
 * with NumPy broadcasting of the batch dims.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return matmulInto(a, b);
}

/** `matmul` writing into `out` (contiguous, of the result's shape, not sharing storage with a or b). */
export function matmulInto(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  if (a.ndim < 2 || b.ndim < 2) {
    throw new TensorError(
      `matmul: need operands of at least 2 dims, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  const m = a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const n = b.shape[b.ndim - 1]!;
  if (b.shape[b.ndim - 2] !== k) shapeMismatch('matmul', a.shape, b.shape, 'inner dimensions differ');
  const aLead = a.shape.slice(0, -2);
  const bLead = b.shape.slice(0, -2);
  let batchShape: number[];
  try {
    batchShape = broadcastShapes(aLead, bLead, 'matmul');
  } catch {
    shapeMismatch('matmul', a.shape, b.shape, 'batch dimensions cannot be broadcast');
  }
  const outShape = [...batchShape, m, n];
  const batch = numel(batchShape);
  const aBs = broadcastStrides(aLead, a.strides.slice(0, -2), batchShape);
  const bBs = broadcastStrides(bLead, b.strides.slice(0, -2), batchShape);
  const bShared = bBs.every((s, i) => s === 0 || batchShape[i] === 1);
  // B the same for every batch entry: one [batch * m, k] x [k, n] gemm (B packed once).
  if (bShared && batch > 1) {
    const aView = new Tensor(a.data, [...batchShape, m, k], [...aBs, ...a.strides.slice(-2)], a.offset);
    const av = rowsView(aView);
    return gemm(av.t, av.rows, av.rowStride, b, outputFor('matmul', outShape, out, [a, b]), k, n, null, false);
  }
  const aOff = batch === 1 ? OFF_A : allocF64(batch);
  const bOff = batch === 1 ? OFF_B : allocF64(batch);
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < batch; bi++) {
    let ao = a.offset;
    let bo = b.offset;
    for (let d = 0; d < idx.length; d++) {
      ao += idx[d]! * aBs[d]!;
      bo += idx[d]! * bBs[d]!;
    }
    aOff[bi] = ao;
    bOff[bi] = bo;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < batchShape[d]!) break;
      idx[d] = 0;
    }
  }
  const c = outputFor('matmul', outShape, out, [a, b]);
  runGemm({
    a: a.data,
    aOff,
    aRowStride: a.strides[a.ndim - 2]!,
    aKStride: a.strides[a.ndim - 1]!,
    b: b.data,
    bOff,
    bKStride: b.strides[b.ndim - 2]!,
    bNStride: b.strides[b.ndim - 1]!,
    c: dense(c),
    bias: EMPTY,
    biasOff: 0,
    biasStride: 0,
    batch,
    m,
    n,
    k,
  });
  return c;
}

/** Where a decode-sized `linear` can read W in place from the resident arena: the arena and W's byte offset. */
function residentArgs(b: Tensor | HalfTensor, wLayout: boolean, rows: number): { arena?: WasmMemory; bArena?: number } {
  if (!wLayout || rows > MATVEC_MAX_ROWS) return {};
  const off = arenaOffset(b.data);
  if (off < 0) return {};
  const contiguousRows = b instanceof HalfTensor || (b.strides[1] === 1 && b.strides[0] === b.shape[1]);
  if (!contiguousRows) return {};
  return { arena: arenaOf(b.data)!, bArena: off + (b instanceof HalfTensor ? 0 : b.offset * 4) };
}

/** One `[rows, k] x B` gemm; `wLayout`: B is W `[n, k]` (linear; a HalfTensor W has contiguous rows), else `[k, n]`. */
function gemm(
  a: Tensor,
  rows: number,
  rowStride: number,
  b: Tensor | HalfTensor,
  out: Tensor,
  k: number,
  n: number,
  bias: Tensor | null,
  wLayout: boolean,
): Tensor {
  const aOff = OFF_A; // reused: the gemm runs synchronously, and workers see shared arrays only during the call
  aOff[0] = a.offset;
  const bOff = OFF_B;
  const half = b instanceof HalfTensor;
  bOff[0] = half ? 0 : b.offset; // a HalfTensor's data starts at its first element
  runGemm({
    a: a.data,
    aOff,
    aRowStride: rowStride,
    aKStride: a.strides[a.ndim - 1]!,
    ...(half
      ? { b: EMPTY, b16: b.data, bHalf: HALF_CODE[b.dtype], bBlock: b.kBlock, bKStride: 1, bNStride: k }
      : {
          b: b.data,
          // linear: W [out, in] read as B [k = in, n = out]
          bKStride: wLayout ? b.strides[1]! : b.strides[b.ndim - 2]!,
          bNStride: wLayout ? b.strides[0]! : b.strides[b.ndim - 1]!,
        }),
    bOff,
    ...residentArgs(b, wLayout, rows),
    c: dense(out),
    bias: bias ? bias.data : EMPTY,
    biasOff: bias ? bias.offset : 0,
    biasStride: bias ? bias.strides[0]! : 0,
    batch: 1,
    m: rows,
    n,
    k,
  });
  return out;
}

/**
 * A weight `linear` accepts: a float32 Tensor (any layout), a HalfTensor (F16/BF16 kept as 16-bit, widened
 * exactly inside the kernels: results bit-identical to `linear(x, w.toFloat32(), b)`), or a PackedWeight
 * (2:4 or unstructured sparse, from `packWeight`: equal to the dense result up to float rounding).
 */
export type LinearWeight = Tensor | HalfTensor | PackedWeight;

/**
 * `x W^T + b` for `x [..., in]`, `W [out, in]` (Hugging Face order) and optional `b [out]`; returns
 * `[..., out]`. W is read in place through its strides (no transposed copy); a HalfTensor W is widened
 * inside the kernels (never converted as a whole).
 */
export function linear(x: Tensor, w: LinearWeight, b?: Tensor | null): Tensor {
  return linearInto(x, w, b);
}

/** `linear` writing into `out` (contiguous `[..., out]`, not sharing storage with x, W or b). */
export function linearInto(x: Tensor, w: LinearWeight, b?: Tensor | null, out?: Tensor): Tensor {
  if (w.ndim !== 2)
    throw new TensorError(
      `linear: weight must be 2-d [out, in], got ${fmtShape(w.shape)} (input ${fmtShape(x.shape)})`,
    );
  if (x.ndim < 1) throw new TensorError(`linear: input must have at least 1 dim, got ${fmtShape(x.shape)}`);
  const [outF, inF] = w.shape as [number, number];
  if (x.shape[x.ndim - 1] !== inF) shapeMismatch('linear', x.shape, w.shape, 'input features differ');
  if (b && (b.ndim !== 1 || b.shape[0] !== outF)) shapeMismatch('linear', w.shape, b.shape, `bias must be [${outF}]`);
  const rv = rowsView(x);
  const o = outputFor('linear', [...x.shape.slice(0, -1), outF], out, [x, w, b]);
  if (w instanceof PackedWeight) {
    packedLinear(rv.t, rv.rows, rv.rowStride, w, b ?? null, dense(o));
    return o;
  }
  const wd = rv.rows <= MATVEC_MAX_ROWS ? decodeWeight(w) : w;
  return gemm(rv.t, rv.rows, rv.rowStride, wd, o, inF, outF, b ?? null, true);
}

/**
 * `linear(x, ws[i], bs[i])` for each i, for weights that share their input (q/k/v; gate and up). At decode sizes
 * with every W resident and dense in one format, a single pool split covers all their outputs (one handshake
 * instead of one per weight); otherwise they run one by one. Either way the results are those of `linear`.
 */
export function linearGroup(
  x: Tensor,
  ws: readonly LinearWeight[],
  bs: readonly (Tensor | null | undefined)[] = [],
): Tensor[] {
  const rv = x.ndim >= 1 ? rowsView(x) : null;
  if (rv && ws.every((w) => w instanceof PackedWeight)) {
    const outs = packedLinearGroup(rv.t, rv.rows, rv.rowStride, x.shape, ws as PackedWeight[], bs);
    if (outs) return outs;
  }
  const fused = rv && rv.rows <= MATVEC_MAX_ROWS ? groupWeights(x, ws, bs, rv.rows) : null;
  if (!fused || !rv) return ws.map((w, i) => linearInto(x, w, bs[i]));
  const outs = fused.map(({ w }) => Tensor.zeros([...x.shape.slice(0, -1), w.shape[0]!]));
  const k = x.shape[x.ndim - 1]!;
  OFF_A[0] = rv.t.offset;
  const args: Record<string, unknown> = {
    a: rv.t.data,
    aOff: OFF_A,
    aRowStride: rv.rowStride,
    aKStride: rv.t.strides[rv.t.ndim - 1]!,
    m: rv.rows,
    k,
    bHalf: fused[0]!.w instanceof HalfTensor ? HALF_CODE[fused[0]!.w.dtype] : 0,
    bBlock: fused[0]!.w instanceof HalfTensor ? fused[0]!.w.kBlock : 0,
    arena: fused[0]!.arena,
    parts: fused.length,
    meta: GROUP_META,
  };
  let n = 0;
  for (let i = 0; i < GROUP_MAX; i++) {
    const g = fused[i];
    const b = g ? bs[i] : null;
    args[`c${i}`] = g ? dense(outs[i]!) : EMPTY;
    args[`bias${i}`] = b ? b.data : EMPTY;
    if (!g) continue;
    GROUP_META.set([g.w.shape[0]!, g.bArena, b ? b.offset : 0, b ? b.strides[0]! : 0], 4 * i);
    n += g.w.shape[0]!;
  }
  const cost = residentCost((0.4 + rv.rows / 15) * k, { n, bArena: 0 });
  parallelFor('matmul.matvecGroup', args as never, n, { costPerRow: cost, align: 16 });
  return outs;
}

/** The resident dense weights of a fusable group with their arena offsets, or null (then: separate calls). */
function groupWeights(
  x: Tensor,
  ws: readonly LinearWeight[],
  bs: readonly (Tensor | null | undefined)[],
  rows: number,
): { w: Tensor | HalfTensor; bArena: number; arena: WasmMemory }[] | null {
  const k = x.shape[x.ndim - 1]!;
  if (ws.length < 2 || ws.length > GROUP_MAX || k % 16 !== 0 || resolveBackend() !== 'wasm') return null;
  const out: { w: Tensor | HalfTensor; bArena: number; arena: WasmMemory }[] = [];
  for (let i = 0; i < ws.length; i++) {
    const w0 = ws[i]!;
    const b = bs[i];
    if (w0 instanceof PackedWeight || w0.ndim !== 2 || w0.shape[1] !== k) return null;
    if (b && (b.ndim !== 1 || b.shape[0] !== w0.shape[0])) return null;
    const w = decodeWeight(w0);
    const r = residentArgs(w, true, rows);
    if (r.bArena === undefined || r.arena === undefined || (i > 0 && r.arena !== out[0]!.arena)) return null; // one arena per call
    // one format and layout per call
    const form = (v: Tensor | HalfTensor) => (v instanceof HalfTensor ? `${v.dtype}/${v.kBlock}` : 'f32');
    if (i > 0 && form(w) !== form(out[0]!.w)) return null;
    out.push({ w, bArena: r.bArena, arena: r.arena });
  }
  return out;
}
