// 16-bit weights stay 16-bit: the forward pass reads F16/BF16 checkpoints as HalfTensor and gives exactly the
// results of converting to float32 first; the store reuses its buffers across blocks; dropBlock hands a block off.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Arena, HalfTensor, type LinearWeight, storageStats, Tensor } from '@stade/tensor';
import { describe, expect, it } from 'vitest';
import {
  type CausalLM,
  Checkpoint,
  MemorySource,
  modelFromCheckpoint,
  modelFromSource,
  SafetensorsBuffer,
} from '../src/index.js';
import { FIXTURES_DIR, loadFixture } from './fixtures.js';

/** The checkpoint converted to float32 first, in memory. */
function float32Model(dir: string): CausalLM {
  const ck = Checkpoint.open(dir);
  const m = new Map<string, Tensor>();
  for (const n of ck.names()) m.set(n, ck.get(n));
  ck.close();
  return modelFromSource(new MemorySource(ck.config, m, `f32:${dir}`));
}

/** Records the type of every linear weight the forward pass receives. */
function recordForms(model: CausalLM): string[] {
  const seen: string[] = [];
  (model as unknown as { setLinearForm(f: (n: string, w: LinearWeight) => LinearWeight): void }).setLinearForm(
    (_n, w) => {
      seen.push(w instanceof HalfTensor ? w.dtype : 'f32');
      return w;
    },
  );
  return seen;
}

describe('16-bit checkpoints', () => {
  for (const name of ['opt-pre-f16', 'opt-pre-bf16', 'llama-gqa-f16', 'llama-gqa-bf16']) {
    it(`${name}: the forward reads 16-bit weights and equals converting to float32 first, bit for bit`, () => {
      const fx = loadFixture(name);
      const ck = Checkpoint.open(fx.dir);
      const model = modelFromCheckpoint(ck);
      const forms = recordForms(model);
      const ref = float32Model(fx.dir);
      let h = model.embed(fx.ids);
      let r = ref.embed(fx.ids);
      expect(h.toArray()).toEqual(r.toArray());
      for (let i = 0; i < model.numBlocks; i++) {
        h = model.block(i, h);
        r = ref.block(i, r);
        expect(h.toArray()).toEqual(r.toArray());
        model.releaseBlock(i);
      }
      expect(model.head(h).toArray()).toEqual(ref.head(r).toArray());
      const dtype = name.endsWith('bf16') ? 'bf16' : 'f16';
      expect(forms.length).toBeGreaterThan(0);
      expect(new Set(forms)).toEqual(new Set([dtype]));
      // getLinear gives float32, equal to the converted checkpoint
      for (const n of model.linearNames(0)) {
        const a = model.getLinear(n);
        const b = ref.getLinear(n);
        expect(a.weight.toArray()).toEqual(b.weight.toArray());
        expect(a.bias?.toArray() ?? null).toEqual(b.bias?.toArray() ?? null);
      }
      ck.close();
    });
  }

  it('SafetensorsBuffer reads the same 16-bit data as the checkpoint', () => {
    const dir = path.join(FIXTURES_DIR, 'llama-gqa-bf16');
    const ck = Checkpoint.open(dir);
    const buf = new SafetensorsBuffer(ck.config, [
      { name: 'model.safetensors', bytes: new Uint8Array(fs.readFileSync(path.join(dir, 'model.safetensors'))) },
    ]);
    const n = 'model.layers.1.mlp.up_proj.weight';
    const a = ck.getStored(n) as HalfTensor;
    const b = buf.getStored(n) as HalfTensor;
    expect(b).toBeInstanceOf(HalfTensor);
    expect(b.dtype).toBe('bf16');
    expect([...b.data]).toEqual([...a.data]);
    expect(buf.get(n).toArray()).toEqual(ck.get(n).toArray());
    ck.close();
  });
});

describe('WeightStore memory', () => {
  it("reuses a released block's 16-bit buffers for the next read instead of allocating", () => {
    const fx = loadFixture('llama-gqa-bf16');
    const run = (release: boolean) => {
      const ck = Checkpoint.open(fx.dir);
      const model = modelFromCheckpoint(ck);
      const h = model.embed(fx.ids);
      model.block(0, h); // warm-up: first reads, rope tables
      if (release) model.releaseBlock(0);
      const before = storageStats().sharedBytesAllocated;
      model.block(0, h);
      const bytes = storageStats().sharedBytesAllocated - before;
      const resident = (model as unknown as { residentBytes(): number }).residentBytes();
      ck.close();
      return { bytes, resident };
    };
    const cached = run(false); // weights still cached: no reads at all
    const reread = run(true); // weights read again, into the store's own buffers
    let weightBytes = 0;
    const ck = Checkpoint.open(fx.dir);
    const model = modelFromCheckpoint(ck);
    for (const n of model.linearNames(0)) weightBytes += 2 * model.getLinear(n).weight.size;
    ck.close();
    // only the two small norm vectors are allocated again (widened to float32), no 16-bit weight buffers
    expect(reread.bytes - cached.bytes).toBeLessThan(weightBytes / 10);
    expect(reread.resident).toBe(cached.resident);
  });

  it('decode path: a norm weight made in a step arena is served again after the reset, not read again', () => {
    const fx = loadFixture('opt-pre-bf16');
    const ck = Checkpoint.open(fx.dir);
    const tensors = new Map<string, Tensor>();
    for (const n of ck.names()) tensors.set(n, ck.get(n));
    ck.close();
    const reads: string[] = [];
    class Counting extends MemorySource {
      override get(name: string): Tensor {
        reads.push(name);
        return super.get(name);
      }
    }
    const model = modelFromSource(new Counting(ck.config, tensors, 'counting'));
    recordForms(model); // a load-time linear form, as the decode path sets (applyWeightFormat)
    const h = model.embed(fx.ids); // [T, hidden], outside the arena
    const arena = new Arena();
    const step = () => {
      const out = arena.use(() => model.block(0, h).toArray());
      arena.reset();
      return out;
    };
    const first = step();
    const norms = reads.filter((n) => n.includes('layer_norm'));
    reads.length = 0;
    expect(step()).toEqual(first);
    arena.dispose();
    expect(norms.length).toBe(4); // two LayerNorms of block 0, weight and bias
    expect(reads).toEqual([]);
  });

  it('dropBlock forgets replacements and refuses later use of the block', () => {
    const fx = loadFixture('llama-gqa-bf16');
    const ck = Checkpoint.open(fx.dir);
    const model = modelFromCheckpoint(ck);
    const h = model.embed(fx.ids);
    const n = 'model.layers.0.mlp.down_proj';
    const w = model.getLinear(n).weight.clone();
    model.setLinear(n, w, null);
    const resident = (model as unknown as { residentBytes(): number }).residentBytes();
    model.dropBlock(0);
    expect((model as unknown as { residentBytes(): number }).residentBytes()).toBeLessThan(resident);
    expect(() => model.block(0, h)).toThrow(/handed off \(dropBlock\)/);
    expect(() => model.getLinear(n)).toThrow(/handed off/);
    expect(() => model.setLinear(n, w, null)).toThrow(/handed off/);
    expect(model.block(1, h).shape).toEqual(h.shape);
    expect(model.linearInfo(n)).toEqual({ out: 64, in: 112, bias: false });
    ck.close();
  });
});

describe('resetLinear', () => {
  it('undoes setLinear: weight and bias read from the checkpoint again, same outputs as before', () => {
    const fx = loadFixture('llama-gqa-bf16');
    const ck = Checkpoint.open(fx.dir);
    const model = modelFromCheckpoint(ck);
    const h = model.embed(fx.ids);
    const n = 'model.layers.0.self_attn.o_proj';
    const before = model.block(0, h).clone();
    const dense = model.getLinear(n).weight.clone();
    expect(model.isLinearSet(n)).toBe(false);
    model.setLinear(n, Tensor.zeros(dense.shape), Tensor.zeros([dense.shape[0]!]));
    expect(model.isLinearSet(n)).toBe(true);
    expect(model.block(0, h).values()).not.toEqual(before.values());
    model.resetLinear(n);
    expect(model.isLinearSet(n)).toBe(false);
    expect(model.getLinear(n).bias).toBeNull();
    expect(model.getLinear(n).weight.values()).toEqual(dense.values());
    expect(model.block(0, h).values()).toEqual(before.values());
    ck.close();
  });
});
