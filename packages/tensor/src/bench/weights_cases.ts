/**
 * Weight-format cases: `linear` with the same layer as dense float32, dense 16-bit (HalfTensor) and packed
 * sparse (2:4, unstructured 50% / 70%), for decode (1 row) and prefill (128 rows). GFLOP/s are dense
 * equivalents (2 * rows * out * in), so the ratio to the float32 case of the same run is the speed-up.
 */
import { HalfTensor } from '../half.js';
import { linearInto } from '../ops/matmul.js';
import { packWeight } from '../packed.js';
import { Tensor } from '../tensor.js';
import { mulberry32, randn } from '../testing/random.js';
import { addBenchCase } from './registry.js';
import type { BenchResult } from './run.js';

export const WEIGHTS_OP = 'linear-weights';

type Format = 'f32' | 'bf16' | 'f16' | '2:4 bf16' | 'sparse50 bf16' | 'sparse70 bf16';

/** W [n, k] (std 0.05) pruned for `format`: 2:4 keeps the 2 largest of every 4, sparseP drops P% at random. */
function weight(n: number, k: number, format: Format): Tensor | HalfTensor | ReturnType<typeof packWeight> {
  const w = randn([n, k], 2, 0.05);
  const d = w.data;
  if (format.startsWith('2:4')) {
    for (let i = 0; i + 4 <= d.length; i += 4) {
      const order = [0, 1, 2, 3].sort((a, b) => Math.abs(d[i + b]!) - Math.abs(d[i + a]!));
      d[i + order[2]!] = 0;
      d[i + order[3]!] = 0;
    }
  } else if (format.startsWith('sparse')) {
    const p = Number(format.slice(6, 8)) / 100;
    const r = mulberry32(3);
    for (let i = 0; i < d.length; i++) if (r() < p) d[i] = 0;
  }
  if (format === 'f32') return w;
  const h = HalfTensor.fromFloat32(w, format === 'f16' ? 'f16' : 'bf16');
  if (format === 'bf16' || format === 'f16') return h;
  return packWeight(h, format.startsWith('2:4') ? '2:4' : 'sparse');
}

/** Bytes the weight occupies (what decode streams per token). */
function weightBytes(w: Tensor | HalfTensor | ReturnType<typeof packWeight>): number {
  if (w instanceof Tensor) return w.size * 4;
  if (w instanceof HalfTensor) return w.size * 2;
  return w.bytes;
}

const bytesByShape = new Map<string, number>();

/** Adds the layer `[n, k]` at `rows` x rows in each format. */
export function addWeightCases(rows: number, k: number, n: number, formats: Format[]): void {
  for (const format of formats) {
    const shape = `${rows}x${k} by ${n}x${k} ${format}`;
    addBenchCase({
      op: WEIGHTS_OP,
      shape,
      flops: 2 * rows * n * k,
      tags: ['weights', rows === 1 ? 'decode' : 'prefill'],
      kernels: ['wasm'],
      minMs: rows === 1 ? 500 : 1000,
      setup: () => {
        const x = randn([rows, k], 1);
        const w = weight(n, k, format);
        bytesByShape.set(shape, weightBytes(w));
        const out = Tensor.zeros([rows, n]);
        return () => {
          linearInto(x, w, null, out);
        };
      },
    });
  }
}

let added = false;

/** Registers the standard weight-format cases once (TinyLlama's MLP and OPT-125M's fc1). */
export function addWeightsCases(): void {
  if (added) return;
  added = true;
  const all: Format[] = ['f32', 'bf16', 'f16', '2:4 bf16', 'sparse50 bf16', 'sparse70 bf16'];
  addWeightCases(1, 2048, 5632, all);
  addWeightCases(1, 768, 3072, all);
  const prefill: Format[] = ['f32', 'bf16', '2:4 bf16', 'sparse70 bf16'];
  addWeightCases(128, 2048, 5632, prefill);
  addWeightCases(128, 768, 3072, prefill);
}

/**
 * Table of the weight-format results: weight GB/s streamed and the speed ratio to the float32 case of the same
 * layer, rows, kernel and thread count (all from this run).
 */
export function formatWeightRatios(results: readonly BenchResult[]): string {
  const ws = results.filter((r) => r.op === WEIGHTS_OP);
  if (ws.length === 0) return '';
  const base = (r: BenchResult) => {
    const dims = r.shape.split(' ').slice(0, 3).join(' ');
    return ws.find((b) => b.shape === `${dims} f32` && b.kernel === r.kernel && b.threads === r.threads);
  };
  const head = ['layer', 'format', 'threads', 'ms', 'weight GB/s', 'x dense f32'];
  const rows = ws.map((r) => {
    const parts = r.shape.split(' ');
    const b = base(r);
    const bytes = bytesByShape.get(r.shape) ?? 0;
    return [
      parts.slice(0, 3).join(' '),
      parts.slice(3).join(' '),
      String(r.threads),
      r.ms.toFixed(3),
      (bytes / r.ms / 1e6).toFixed(1),
      b ? (b.ms / r.ms).toFixed(2) : '-',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
