// CausalLM behaviour beyond the logits: taps, block-by-block running, weight replacement and release,
// and the errors for missing or mis-shaped tensors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { linear, Tensor } from '@stade/tensor';
import { describe, expect, it } from 'vitest';
import {
  Checkpoint,
  CheckpointError,
  loadModel,
  MemorySource,
  modelFromSource,
  writeSafetensors,
} from '../src/index.js';
import { FIXTURES_DIR, loadFixture, relMaxError } from './fixtures.js';

/** The fixture's tensors in memory, optionally edited. */
function memorySource(name: string, edit: (m: Map<string, Tensor>) => void = () => {}): MemorySource {
  const ck = Checkpoint.open(path.join(FIXTURES_DIR, name));
  const m = new Map<string, Tensor>();
  for (const n of ck.names()) m.set(n, ck.get(n));
  ck.close();
  edit(m);
  return new MemorySource(ck.config, m, `mem:${name}`);
}

const OPT_ORDER = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj', 'fc1', 'fc2'];
const LLAMA_ORDER = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
];

describe('tap', () => {
  for (const [name, prefix, order] of [
    ['opt-post', 'model.decoder.layers.', OPT_ORDER],
    ['llama-gqa', 'model.layers.', LLAMA_ORDER],
    ['qwen2', 'model.layers.', LLAMA_ORDER],
  ] as const) {
    it(`${name}: sees the [tokens, in] input of every linear layer, in order, under HF names`, () => {
      const fx = loadFixture(name);
      const model = loadModel(fx.dir);
      let h = model.embed(fx.ids);
      for (let i = 0; i < model.numBlocks; i++) {
        const seen: { name: string; x: Tensor }[] = [];
        const out = model.block(i, h, { tap: (n, x) => seen.push({ name: n, x: x.clone() }) });
        const expected = order.map((s) => `${prefix}${i}.${s}`);
        expect(model.linearNames(i)).toEqual(expected);
        expect(seen.map((s) => s.name)).toEqual(expected);
        for (const s of seen) {
          const lin = model.getLinear(s.name);
          expect(s.x.shape).toEqual([fx.ids.length, lin.weight.shape[1]]);
        }
        // q, k and v share one input; the FFN's second layer sees post-activation values
        expect(seen[1]!.x.toArray()).toEqual(seen[0]!.x.toArray());
        expect(seen[2]!.x.toArray()).toEqual(seen[0]!.x.toArray());
        if (name.startsWith('opt')) expect(Math.min(...seen[5]!.x.toArray())).toBeGreaterThanOrEqual(0);
        // the tap does not change the result
        expect(model.block(i, h).toArray()).toEqual(out.toArray());
        h = out;
      }
      expect(relMaxError(model.head(h).values(), fx.logits)).toBeLessThan(1e-4);
    });
  }
});

describe('weights', () => {
  it('setLinear replaces a layer, survives releaseBlock, and tensors() lists it', () => {
    const fx = loadFixture('llama-gqa');
    const model = loadModel(fx.dir);
    const name = 'model.layers.1.mlp.down_proj';
    const before = model.forward(fx.ids).toArray();
    const w = model.getLinear(name).weight;
    expect(model.getLinear(name).bias).toBeNull();
    const zeroW = Tensor.zeros(w.shape);
    const bias = Tensor.full([w.shape[0]!], 0.25);
    model.setLinear(name, zeroW, bias);
    model.releaseBlock(1);
    const after = model.forward(fx.ids).toArray();
    expect(after).not.toEqual(before);
    expect(model.getLinear(name).weight).toBe(zeroW);
    const all = new Map([...model.tensors()].map((e) => [e.name, e.tensor]));
    expect(all.get(`${name}.weight`)).toBe(zeroW);
    expect(all.get(`${name}.bias`)).toBe(bias);
    expect(all.has('model.layers.0.self_attn.q_proj.weight')).toBe(true);
    expect(() => model.setLinear(name, Tensor.zeros([3, 3]), null)).toThrow(/\[3, 3\].*expected/);
    expect(() => model.getLinear('model.norm')).toThrow(/not a prunable linear/);
  });

  it('the tapped input is exactly what the layer multiplies', () => {
    const fx = loadFixture('llama-bias');
    const model = loadModel(fx.dir);
    const name = 'model.layers.0.mlp.down_proj';
    const lin = model.getLinear(name);
    expect(lin.bias).not.toBeNull();
    let x: Tensor | null = null;
    const h0 = model.embed(fx.ids);
    const out = model.block(0, h0, {
      tap: (n, t) => {
        if (n === name) x = t.clone();
      },
    });
    const y = linear(x!, lin.weight, lin.bias).values();
    // block output = residual + down_proj(x); with the layer zeroed only the residual remains
    const o = lin.weight.shape[0]!;
    model.setLinear(name, Tensor.zeros(lin.weight.shape), Tensor.zeros([o]));
    const residual = model.block(0, h0).values();
    const sum = residual.map((v, i) => v + y[i]!);
    expect(relMaxError(sum, out.values())).toBeLessThan(1e-6);
  });

  it('block weights load lazily and releaseBlock drops them', () => {
    const reads: string[] = [];
    const src = memorySource('opt-pre');
    const get = src.get.bind(src);
    src.get = (n: string) => {
      reads.push(n);
      return get(n);
    };
    const model = modelFromSource(src);
    expect(reads).toEqual([]); // validation reads headers only
    const h = model.embed(Int32Array.from([1, 2, 3]));
    model.block(1, h);
    expect(reads.some((n) => n.startsWith('model.decoder.layers.1.'))).toBe(true);
    expect(reads.some((n) => n.startsWith('model.decoder.layers.0.'))).toBe(false);
    const count = reads.length;
    model.block(1, h);
    expect(reads.length).toBe(count); // cached
    model.releaseBlock(1);
    model.block(1, h);
    expect(reads.length).toBeGreaterThan(count); // read again
  });

  it('like transformers, ignores biases the config does not announce (and keeps them in tensors())', () => {
    const key = 'model.layers.0.mlp.down_proj.bias';
    const src = memorySource('llama-gqa', (m) => m.set(key, Tensor.full([64], 5)));
    const fx = loadFixture('llama-gqa');
    const model = modelFromSource(src);
    expect(model.getLinear('model.layers.0.mlp.down_proj').bias).toBeNull();
    expect(relMaxError(model.forward(fx.ids).values(), fx.logits)).toBeLessThan(1e-4);
    expect([...model.tensors()].some((e) => e.name === key)).toBe(true);
  });

  it('accepts OPT checkpoints stored without the model. prefix', () => {
    const src = memorySource('opt-pre', (m) => {
      for (const [k, v] of [...m]) {
        m.delete(k);
        m.set(k.replace(/^model\./, ''), v);
      }
    });
    const fx = loadFixture('opt-pre');
    const model = modelFromSource(src);
    expect(relMaxError(model.forward(fx.ids).values(), fx.logits)).toBeLessThan(1e-4);
    expect([...model.tensors()].every((e) => e.name.startsWith('model.decoder.'))).toBe(true);
  });
});

describe('bad checkpoints', () => {
  it('a missing tensor is an error naming it', () => {
    const key = 'model.layers.1.self_attn.k_proj.weight';
    const src = memorySource('llama-gqa', (m) => m.delete(key));
    expect(() => modelFromSource(src)).toThrow(CheckpointError);
    expect(() => modelFromSource(src)).toThrow(key);
  });

  it('a qwen2 checkpoint without its q_proj bias is an error naming it', () => {
    const key = 'model.layers.0.self_attn.q_proj.bias';
    expect(() => modelFromSource(memorySource('qwen2', (m) => m.delete(key)))).toThrow(key);
  });

  it('a mis-shaped tensor is an error naming the key and both shapes', () => {
    const key = 'model.decoder.layers.0.fc1.weight';
    const src = memorySource('opt-post', (m) => m.set(key, Tensor.zeros([96, 47])));
    expect(() => modelFromSource(src)).toThrow(new RegExp(`${key.replace(/\./g, '\\.')}.*\\[96, 47\\].*\\[96, 48\\]`));
  });

  it('a mis-shaped tensor in a safetensors file fails at loadModel', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stade-model-'));
    try {
      const src = path.join(FIXTURES_DIR, 'opt-pre');
      fs.copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
      const ck = Checkpoint.open(src);
      const entries = ck.names().map((name) => {
        const t = name === 'model.decoder.embed_positions.weight' ? Tensor.zeros([65, 32]) : ck.get(name);
        return { name, dtype: 'F32' as const, shape: [...t.shape], data: t.values() };
      });
      ck.close();
      writeSafetensors(path.join(dir, 'model.safetensors'), entries);
      expect(() => loadModel(dir)).toThrow(/embed_positions\.weight.*\[65, 32\].*\[66, 32\]/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad token ids and too long inputs are errors', () => {
    const model = loadModel(path.join(FIXTURES_DIR, 'opt-pre'));
    expect(() => model.embed(Int32Array.from([0, 211]))).toThrow(/211.*vocabulary/);
    expect(() => model.embed(new Int32Array(65))).toThrow(/65 tokens exceed max_position_embeddings 64/);
    expect(() => model.block(2, model.embed(Int32Array.from([1])))).toThrow(/out of range/);
    expect(() => model.block(0, Tensor.zeros([3, 31]))).toThrow(/\[3, 31\]/);
  });
});
