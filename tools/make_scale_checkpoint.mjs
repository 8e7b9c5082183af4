#!/usr/bin/env node
// Random-weight Hugging Face checkpoints at real model shapes, for memory and speed measurements at scale.
// Node only, no dependencies. See tools/README.md.
//
//   node tools/make_scale_checkpoint.mjs --shape llama-1.1b --out /tmp/llama-1.1b
//
// Writes config.json, model.safetensors.index.json + shards (BF16 by default), and the tokenizer of an embedded
// model (models/stade-llama-tiny or models/stade-opt-tiny: its ids stay below 4096, far below the vocabulary).
// Weights: linear layers and embeddings ~ triangular noise of std 0.02 (a real init's scale), norm weights 1,
// biases 0; deterministic per tensor name and --seed, independent of the shard size.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The shapes: real models' dimensions. */
const SHAPES = {
  'opt-125m': { arch: 'opt', hidden: 768, ffn: 3072, layers: 12, heads: 12, vocab: 50272, positions: 2048 },
  'llama-1.1b': {
    arch: 'llama',
    hidden: 2048,
    ffn: 5632,
    layers: 22,
    heads: 32,
    kvHeads: 4,
    vocab: 50257,
    positions: 2048,
  },
  'llama-7b': {
    arch: 'llama',
    hidden: 4096,
    ffn: 11008,
    layers: 32,
    heads: 32,
    kvHeads: 32,
    vocab: 32000,
    positions: 4096,
  },
};

const USAGE = `usage: node tools/make_scale_checkpoint.mjs --out DIR [--shape ${Object.keys(SHAPES).join('|')}]
       [--dtype bf16|f16|f32] [--layers N] [--vocab N] [--shard-mb N] [--seed N] [--force]
Defaults: --shape llama-1.1b --dtype bf16 --shard-mb 200 --seed 0. DIR must not exist (or be empty) unless --force.`;

function parseArgs(argv) {
  const o = { shape: 'llama-1.1b', dtype: 'bf16', shardMb: 200, seed: 0, force: false };
  const ints = { '--layers': 'layers', '--vocab': 'vocab', '--shard-mb': 'shardMb', '--seed': 'seed' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--out') o.out = val();
    else if (a === '--shape') o.shape = val();
    else if (a === '--dtype') o.dtype = val();
    else if (a === '--force') o.force = true;
    else if (a in ints) {
      const v = val();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || (a !== '--seed' && n === 0))
        fail(`${a}: expected a positive integer, got ${v}`);
      o[ints[a]] = n;
    } else fail(`unknown option ${a}`);
  }
  if (!o.out) fail('--out DIR is required');
  if (!(o.shape in SHAPES)) fail(`--shape: unknown ${o.shape} (${Object.keys(SHAPES).join(', ')})`);
  if (!['bf16', 'f16', 'f32'].includes(o.dtype)) fail(`--dtype: expected bf16, f16 or f32, got ${o.dtype}`);
  return o;
}

function fail(msg) {
  console.error(`make_scale_checkpoint: ${msg}\n${USAGE}`);
  process.exit(2);
}

/** Tensor list (name, shape, init) in Hugging Face order. init: 'w' (std 0.02), 'one', 'zero'. */
function tensorsOf(s) {
  const H = s.hidden;
  const out = [];
  const add = (name, shape, init = 'w') => out.push({ name, shape, init });
  if (s.arch === 'llama') {
    const hd = H / s.heads;
    add('model.embed_tokens.weight', [s.vocab, H]);
    for (let i = 0; i < s.layers; i++) {
      const p = `model.layers.${i}.`;
      add(`${p}self_attn.q_proj.weight`, [H, H]);
      add(`${p}self_attn.k_proj.weight`, [s.kvHeads * hd, H]);
      add(`${p}self_attn.v_proj.weight`, [s.kvHeads * hd, H]);
      add(`${p}self_attn.o_proj.weight`, [H, H]);
      add(`${p}mlp.gate_proj.weight`, [s.ffn, H]);
      add(`${p}mlp.up_proj.weight`, [s.ffn, H]);
      add(`${p}mlp.down_proj.weight`, [H, s.ffn]);
      add(`${p}input_layernorm.weight`, [H], 'one');
      add(`${p}post_attention_layernorm.weight`, [H], 'one');
    }
    add('model.norm.weight', [H], 'one');
    add('lm_head.weight', [s.vocab, H]);
  } else {
    const d = 'model.decoder.';
    add(`${d}embed_tokens.weight`, [s.vocab, H]);
    add(`${d}embed_positions.weight`, [s.positions + 2, H]);
    for (let i = 0; i < s.layers; i++) {
      const p = `${d}layers.${i}.`;
      for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
        add(`${p}self_attn.${n}.weight`, [H, H]);
        add(`${p}self_attn.${n}.bias`, [H], 'zero');
      }
      add(`${p}self_attn_layer_norm.weight`, [H], 'one');
      add(`${p}self_attn_layer_norm.bias`, [H], 'zero');
      add(`${p}fc1.weight`, [s.ffn, H]);
      add(`${p}fc1.bias`, [s.ffn], 'zero');
      add(`${p}fc2.weight`, [H, s.ffn]);
      add(`${p}fc2.bias`, [H], 'zero');
      add(`${p}final_layer_norm.weight`, [H], 'one');
      add(`${p}final_layer_norm.bias`, [H], 'zero');
    }
    add(`${d}final_layer_norm.weight`, [H], 'one');
    add(`${d}final_layer_norm.bias`, [H], 'zero');
  }
  return out;
}

function configOf(s, dtype) {
  const torchDtype = { bf16: 'bfloat16', f16: 'float16', f32: 'float32' }[dtype];
  const eot = 4095; // the embedded tokenizers' <|endoftext|>
  if (s.arch === 'llama') {
    return {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      attention_bias: false,
      attention_dropout: 0.0,
      bos_token_id: eot,
      eos_token_id: eot,
      hidden_act: 'silu',
      hidden_size: s.hidden,
      initializer_range: 0.02,
      intermediate_size: s.ffn,
      max_position_embeddings: s.positions,
      mlp_bias: false,
      num_attention_heads: s.heads,
      num_hidden_layers: s.layers,
      num_key_value_heads: s.kvHeads,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
      rope_theta: 10000.0,
      tie_word_embeddings: false,
      torch_dtype: torchDtype,
      use_cache: true,
      vocab_size: s.vocab,
    };
  }
  return {
    _remove_final_layer_norm: false,
    activation_dropout: 0.0,
    activation_function: 'relu',
    architectures: ['OPTForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: eot,
    do_layer_norm_before: true,
    dropout: 0.0,
    enable_bias: true,
    eos_token_id: eot,
    ffn_dim: s.ffn,
    hidden_size: s.hidden,
    init_std: 0.02,
    layer_norm_elementwise_affine: true,
    layerdrop: 0.0,
    max_position_embeddings: s.positions,
    model_type: 'opt',
    num_attention_heads: s.heads,
    num_hidden_layers: s.layers,
    pad_token_id: eot,
    tie_word_embeddings: true,
    torch_dtype: torchDtype,
    use_cache: true,
    vocab_size: s.vocab,
    word_embed_proj_dim: s.hidden,
  };
}

const BYTES = { bf16: 2, f16: 2, f32: 4 };
const ST_DTYPE = { bf16: 'BF16', f16: 'F16', f32: 'F32' };

/** FNV-1a of a string, mixed with the seed: one independent stream per tensor. */
function seedOf(name, seed) {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

const CHUNK = 1 << 22; // values generated per write
const f32 = new Float32Array(CHUNK);
const u32 = new Uint32Array(f32.buffer);
const u16 = new Uint16Array(CHUNK);
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** float32 -> float16 bits, round to nearest even (normal and subnormal ranges; our values are small). */
function toF16(x) {
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  if (a >= 65520) return sign | 0x7c00;
  if (a < 6.103515625e-5) return sign | Math.round(a * 2 ** 24); // subnormal: units of 2^-24 (ties: rare, harmless)
  scratch[0] = a;
  const b = scratchBits[0];
  const exp = ((b >>> 23) & 0xff) - 127 + 15;
  let mant = b & 0x7fffff;
  let h = (exp << 10) | (mant >>> 13);
  mant &= 0x1fff;
  if (mant > 0x1000 || (mant === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** Writes one tensor's bytes to fd at the current position. */
function writeTensor(fd, t, dtype, seed) {
  const n = t.shape.reduce((a, d) => a * d, 1);
  let state = seedOf(t.name, seed);
  // triangular noise u1 + u2 - 1 on (-1, 1) has variance 1/6: scale to std 0.02
  const scale = 0.02 * Math.sqrt(6) * (1 / 65536);
  for (let done = 0; done < n; done += CHUNK) {
    const m = Math.min(CHUNK, n - done);
    if (t.init === 'w') {
      for (let i = 0; i < m; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const r = state >>> 0;
        f32[i] = ((r >>> 16) + (r & 0xffff) - 65535) * scale;
      }
    } else f32.fill(t.init === 'one' ? 1 : 0, 0, m);
    let bytes;
    if (dtype === 'f32') bytes = new Uint8Array(f32.buffer, 0, m * 4);
    else {
      if (dtype === 'bf16') {
        for (let i = 0; i < m; i++) {
          const b = u32[i];
          u16[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
        }
      } else {
        for (let i = 0; i < m; i++) u16[i] = toF16(f32[i]);
      }
      bytes = new Uint8Array(u16.buffer, 0, m * 2);
    }
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
  }
}

function headerOf(list, dtype) {
  const header = { __metadata__: { format: 'pt' } };
  let pos = 0;
  for (const t of list) {
    const len = t.shape.reduce((a, d) => a * d, 1) * BYTES[dtype];
    header[t.name] = { dtype: ST_DTYPE[dtype], shape: t.shape, data_offsets: [pos, pos + len] };
    pos += len;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const bytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(bytes.length));
  return { bytes: Buffer.concat([len, bytes]), dataLength: pos };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const shape = { ...SHAPES[o.shape] };
  if (o.layers) shape.layers = o.layers;
  if (o.vocab) shape.vocab = o.vocab;
  if (shape.vocab <= 4095) fail('--vocab must exceed the tokenizer ids (4096 or more)');
  if (fs.existsSync(o.out) && fs.readdirSync(o.out).length > 0) {
    if (!o.force) fail(`${o.out} exists and is not empty (use --force to overwrite)`);
    fs.rmSync(o.out, { recursive: true, force: true });
  }
  fs.mkdirSync(o.out, { recursive: true });
  const tensors = tensorsOf(shape);
  // shards: whole tensors, greedily up to --shard-mb each
  const limit = o.shardMb * 1024 * 1024;
  const shards = [[]];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, d) => a * d, 1) * BYTES[o.dtype];
    if (size > 0 && size + bytes > limit) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += bytes;
  }
  const total = shards.length;
  const weightMap = {};
  let totalSize = 0;
  const t0 = Date.now();
  shards.forEach((list, k) => {
    const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(total).padStart(5, '0')}.safetensors`;
    const { bytes, dataLength } = headerOf(list, o.dtype);
    const fd = fs.openSync(path.join(o.out, file), 'w');
    try {
      fs.writeSync(fd, bytes);
      for (const t of list) {
        writeTensor(fd, t, o.dtype, o.seed);
        weightMap[t.name] = file;
      }
    } finally {
      fs.closeSync(fd);
    }
    totalSize += dataLength;
    process.stderr.write(`\r${file} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  });
  process.stderr.write('\n');
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  fs.writeFileSync(path.join(o.out, 'model.safetensors.index.json'), `${JSON.stringify(index, null, 2)}\n`);
  fs.writeFileSync(path.join(o.out, 'config.json'), `${JSON.stringify(configOf(shape, o.dtype), null, 2)}\n`);
  const tok = path.join(ROOT, 'models', shape.arch === 'llama' ? 'stade-llama-tiny' : 'stade-opt-tiny');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tok, f), path.join(o.out, f));
  const params = tensors.reduce((a, t) => a + t.shape.reduce((x, d) => x * d, 1), 0);
  console.log(
    `${o.out}: ${o.shape} (${shape.layers} blocks, vocab ${shape.vocab}), ${(params / 1e9).toFixed(3)}e9 parameters, ` +
      `${(totalSize / 1e9).toFixed(2)} GB ${o.dtype.toUpperCase()} in ${total} shards, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

main();
