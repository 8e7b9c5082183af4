// A tiny OPT-like model for driver tests: embed = table lookup + position row; each block is
// h + fc2(relu(fc1(h))) with HF-style names; all loops are plain and float64-accumulated.
import { Tensor } from '@stade/tensor';
import { randn } from '@stade/tensor/testing';
import type { LinearLayer, PrunableModel, Tap } from '../src/index.js';

function linear(x: Tensor, l: LinearLayer): Tensor {
  const [rows, inp] = x.shape as [number, number];
  const out = l.weight.shape[0]!;
  const xv = x.values();
  const w = l.weight.values();
  const b = l.bias ? l.bias.values() : null;
  const y = Tensor.zeros([rows, out]);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < out; i++) {
      let s = b ? b[i]! : 0;
      for (let j = 0; j < inp; j++) s += xv[r * inp + j]! * w[i * inp + j]!;
      y.data[r * out + i] = s;
    }
  }
  return y;
}

export class FakeModel implements PrunableModel {
  readonly numBlocks: number;
  readonly hidden: number;
  readonly ffn: number;
  readonly vocab: number;
  private readonly table: Tensor; // [vocab, hidden]
  private readonly pos: Tensor; // [maxPos, hidden]
  private readonly layers = new Map<string, LinearLayer>();
  blockCalls = 0;
  released: number[] = [];

  constructor(
    opts: {
      blocks?: number;
      hidden?: number;
      ffn?: number;
      vocab?: number;
      seed?: number;
      bias?: boolean;
      maxPos?: number;
    } = {},
  ) {
    const seed = opts.seed ?? 1;
    this.numBlocks = opts.blocks ?? 2;
    this.hidden = opts.hidden ?? 8;
    this.ffn = opts.ffn ?? 16;
    this.vocab = opts.vocab ?? 20;
    this.table = randn([this.vocab, this.hidden], seed);
    this.pos = randn([opts.maxPos ?? 64, this.hidden], seed + 1, 0.5, 0.3);
    for (let i = 0; i < this.numBlocks; i++) {
      const s = seed + 10 * (i + 1);
      const fc1 = `model.decoder.layers.${i}.fc1`;
      const fc2 = `model.decoder.layers.${i}.fc2`;
      this.layers.set(fc1, {
        name: fc1,
        weight: randn([this.ffn, this.hidden], s, 0.5),
        bias: opts.bias === false ? null : randn([this.ffn], s + 1, 0.1),
      });
      this.layers.set(fc2, {
        name: fc2,
        weight: randn([this.hidden, this.ffn], s + 2, 0.3),
        bias: opts.bias === false ? null : randn([this.hidden], s + 3, 0.1),
      });
    }
  }

  embed(ids: Int32Array): Tensor {
    const h = Tensor.zeros([ids.length, this.hidden]);
    for (let t = 0; t < ids.length; t++) {
      for (let j = 0; j < this.hidden; j++)
        h.data[t * this.hidden + j] = this.table.get(ids[t]!, j) + this.pos.get(t, j);
    }
    return h;
  }

  block(i: number, h: Tensor, opts: { tap?: Tap } = {}): Tensor {
    this.blockCalls++;
    const [fc1, fc2] = this.linearNames(i) as [string, string];
    opts.tap?.(fc1, h);
    const a = linear(h, this.layers.get(fc1)!);
    for (let k = 0; k < a.data.length; k++) a.data[k] = Math.max(0, a.data[k]!);
    opts.tap?.(fc2, a);
    const o = linear(a, this.layers.get(fc2)!);
    const hv = h.values();
    for (let k = 0; k < o.data.length; k++) o.data[k] = o.data[k]! + hv[k]!;
    return o;
  }

  linearNames(i: number): string[] {
    return [`model.decoder.layers.${i}.fc1`, `model.decoder.layers.${i}.fc2`];
  }

  getLinear(name: string): LinearLayer {
    const l = this.layers.get(name);
    if (!l) throw new Error(`no layer ${name}`);
    return l;
  }

  setLinear(name: string, weight: Tensor, bias: Tensor | null): void {
    this.getLinear(name);
    this.layers.set(name, { name, weight, bias });
  }

  releaseBlock(i: number): void {
    this.released.push(i);
  }
}

/** Random token windows. */
export function tokenWindows(n: number, len: number, vocab: number, seed = 3): Int32Array[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  return Array.from({ length: n }, () => Int32Array.from({ length: len }, () => next() % vocab));
}
