// Loading for decode owns its memory: the weight-format hook writes every layer straight into the resident arena
// from its stored form, so a layer costs the arena exactly its resident arrays and allocates nothing else of its
// size (no float32 or 16-bit copy of the weight left to the garbage collector). Counted exactly, GC-independent.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  arenaLiveBytes,
  encodeBf16,
  HalfTensor,
  isResident,
  PackedWeight,
  releaseResident,
  releaseResidentDecode,
  type Tensor,
} from '@stade/tensor';
import { randn, storageUse } from '@stade/tensor/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyWeightFormat,
  Checkpoint,
  cachedDecoder,
  forwardCached,
  type LayerChoice,
  modelFromCheckpoint,
  weightFormHook,
  writeSafetensors,
} from '../src/index.js';

const can = (() => {
  const w = weightFormHook('f16')('probe', randn([16, 16], 1));
  const ok = isResident(w);
  releaseResident(w);
  return ok;
})();

/** W [n, k] with 2 of every 4 inputs zero, as float32 or bf16. */
function pruned24(n: number, k: number, seed: number, bf16: boolean): Tensor | HalfTensor {
  const w = randn([n, k], seed);
  const d = w.values();
  for (let i = 0; i < d.length; i++) if (i % 4 >= 2) d[i] = 0;
  return bf16 ? new HalfTensor('bf16', encodeBf16(d, new Uint16Array(d.length)), w.shape) : w;
}

/** Arena bytes of arrays of these byte lengths (64-byte blocks, 64 bytes of slack each). */
const arenaBytes = (lens: number[]) => lens.reduce((a, b) => a + Math.ceil((b + 64) / 64) * 64, 0);

describe.skipIf(!can)('the weight-format hook: what one layer allocates', () => {
  const n = 512;
  const k = 1024; // a float32 copy would be 2 MB, a 16-bit one 1 MB
  for (const bf16 of [true, false])
    for (const format of ['auto', 'sparse', 'dense', 'f16'] as const)
      it(`${format} from ${bf16 ? 'bf16' : 'f32'}: the arena holds the layer's arrays; nothing else of its size`, () => {
        const w = pruned24(n, k, 3, bf16);
        const before = arenaLiveBytes();
        const seen: LayerChoice[] = [];
        const hook = weightFormHook(format, (c) => seen.push(c));
        let out: ReturnType<typeof hook> | null = null;
        const use = storageUse(() => {
          out = hook('model.layers.0.mlp.up_proj', w);
        });
        const r = out as unknown as ReturnType<typeof hook>;
        expect(isResident(r)).toBe(true);
        const arrays =
          r instanceof PackedWeight
            ? [r.values, r.index, r.quads, r.rowPtr].filter((a): a is NonNullable<typeof a> => !!a && a.byteLength > 0)
            : [r.data];
        expect(arenaLiveBytes() - before).toBe(arenaBytes(arrays.map((a) => a.byteLength)));
        expect(use.bytes).toBeLessThanOrEqual(8 * (n + 1) + 64); // 'sparse' row offsets at most
        expect(seen.map((c) => c.format)).toEqual([
          { auto: '2:4', sparse: '2:4', dense: 'f32', f16: bf16 ? 'bf16' : 'f16' }[format],
        ]);
        releaseResident(r);
        expect(arenaLiveBytes()).toBe(before);
      });
});

// A bf16 Llama with an untied head and a vocabulary whose embedding and head are 1 MiB each (8192 x 64), written
// to disk: dense, and with every linear weight 2:4-pruned.
const H = 64;
const FF = 128;
const VOCAB = 8192;
const LINEARS: [string, number, number][] = [
  ['self_attn.q_proj', H, H],
  ['self_attn.k_proj', 32, H],
  ['self_attn.v_proj', 32, H],
  ['self_attn.o_proj', H, H],
  ['mlp.gate_proj', FF, H],
  ['mlp.up_proj', FF, H],
  ['mlp.down_proj', H, FF],
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stade-load-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeModel(name: string, prune: boolean): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: H,
    intermediate_size: FF,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    num_hidden_layers: 2,
    vocab_size: VOCAB,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  let seed = 1;
  const entry = (n: string, shape: number[], pruned = false) => {
    const t = randn(shape, seed++, 0.2);
    if (pruned) pruned24InPlace(t);
    return { name: n, dtype: 'BF16' as const, shape, data: t };
  };
  const ones = (n: string) => ({ name: n, dtype: 'BF16' as const, shape: [H], data: new Float32Array(H).fill(1) });
  const entries = [entry('model.embed_tokens.weight', [VOCAB, H]), ones('model.norm.weight')];
  for (let i = 0; i < 2; i++) {
    entries.push(
      ones(`model.layers.${i}.input_layernorm.weight`),
      ones(`model.layers.${i}.post_attention_layernorm.weight`),
    );
    for (const [l, n, k] of LINEARS) entries.push(entry(`model.layers.${i}.${l}.weight`, [n, k], prune));
  }
  entries.push(entry('lm_head.weight', [VOCAB, H]));
  writeSafetensors(path.join(dir, 'model.safetensors'), entries);
  return dir;
}

function pruned24InPlace(t: Tensor): void {
  const d = t.values();
  for (let i = 0; i < d.length; i++) if (i % 4 >= 2) d[i] = 0;
}

describe.skipIf(!can)('loading a model for decode: every weight read once, into the arena', () => {
  const ids = Int32Array.from([5, 900, 8000, 3, 77]);
  for (const prune of [false, true])
    it(`${prune ? '2:4-pruned' : 'dense'} bf16, --weights auto: the arena holds each weight once; decode copies nothing`, () => {
      const dir = writeModel(prune ? 'pruned' : 'dense', prune);
      const plain = modelFromCheckpoint(Checkpoint.open(dir));
      const want = Float32Array.from(plain.forward(ids).values());

      const model = modelFromCheckpoint(Checkpoint.open(dir));
      const a0 = arenaLiveBytes();
      const choices = applyWeightFormat(model, 'auto');
      const got = model.forward(ids).values(); // reads every weight
      expect(new Set(choices.map((c) => c.format))).toEqual(new Set([prune ? '2:4' : 'bf16']));
      if (prune) for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
      else expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
      // the head (1 MiB) as read, and each linear weight as read (dense) or packed (2:4): nothing twice, no read
      // array left behind; the embedding table (read by rows) stays out of the arena
      const linear = (n: number, k: number) => (prune ? [((n * k) / 2) * 2, (n * k) / 8] : [n * k * 2]);
      const want0 = arenaBytes([VOCAB * H * 2, ...[0, 1].flatMap(() => LINEARS.flatMap(([, n, k]) => linear(n, k)))]);
      expect(arenaLiveBytes() - a0).toBe(want0);
      // decode steps find the head resident: the decode scope makes no copy of it
      const dec = cachedDecoder(model);
      const cache = dec.newCache(8);
      forwardCached(dec, ids, cache, true);
      forwardCached(dec, Int32Array.of(9), cache, true);
      cache.dispose();
      expect(arenaLiveBytes() - a0).toBe(want0);
      releaseResidentDecode();
    });
});
