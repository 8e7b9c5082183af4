import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randn } from '@stade/tensor/testing';
import { CheckpointError, type FloatDtype, SafetensorsWriter, writeSafetensors } from '@stade/transformer';
import type { WriterFactory } from '../src/save.js';

/** Repository root and paths used by the end-to-end tests. */
export const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const cliMain = join(repo, 'apps/cli/dist/main.js');
export const fixtures = join(repo, 'packages/transformer/test/fixtures');

/** `n` words w0..w{n-1}. */
export const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i}`);

/**
 * A word-level tokenizer (whitespace split) over w0..w{n-1}, plus [UNK] = n, in Hugging Face
 * tokenizer.json form, so the random fixture models (vocab of ~130-210 ids) can read text.
 */
export function writeTokenizer(dir: string, n: number): void {
  const vocab: Record<string, number> = {};
  words(n).forEach((w, i) => {
    vocab[w] = i;
  });
  vocab['[UNK]'] = n;
  const tj = {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tj));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 1024 }));
}

/** Deterministic pseudo-random text over w0..w{n-1} with some structure (a noisy cycle). */
export function makeText(tokens: number, n: number, seed = 1): string {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const out: string[] = [];
  let w = 0;
  for (let i = 0; i < tokens; i++) {
    w = rnd() < 0.7 ? (w + 1) % n : Math.floor(rnd() * n);
    out.push(`w${w}`);
    if (i % 12 === 11) out.push('\n');
  }
  return out.join(' ');
}

/** The fixture's vocab_size. */
export function vocabOf(fixture: string): number {
  return (JSON.parse(readFileSync(join(fixtures, fixture, 'config.json'), 'utf8')) as { vocab_size: number })
    .vocab_size;
}

/** Copies a transformer fixture into `dir` with a tokenizer whose ids fit its vocabulary. */
export function makeModelDir(fixture: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) cpSync(join(fixtures, fixture, f), join(dir, f));
  writeTokenizer(dir, vocabOf(fixture) - 1);
  return dir;
}

/** The result of running the CLI. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node apps/cli/dist/main.js ...args` synchronously. */
export function runCli(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliRun {
  const r = spawnSync(process.execPath, [cliMain, ...args], {
    cwd: opts.cwd ?? repo,
    env: { ...process.env, STADE_THREADS: '1', ...opts.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI asynchronously, calling `onStderr` as stderr arrives (e.g. to send SIGINT mid-run). */
export function runCliAsync(
  args: readonly string[],
  onStderr: (text: string, kill: (sig: NodeJS.Signals) => void) => void,
): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cliMain, ...args], { cwd: repo, env: { ...process.env, STADE_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
      onStderr(stderr, (sig) => p.kill(sig));
    });
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * A random Llama big enough that pruning takes a few seconds (default 4 blocks, hidden 192, F32), with a
 * word-level tokenizer.
 */
export function bigLlama(dir: string, o: { blocks?: number; hidden?: number; dtype?: FloatDtype } = {}): void {
  mkdirSync(dir, { recursive: true });
  const H = o.hidden ?? 192;
  const I = Math.round((H * 8) / 3);
  const V = 197;
  const KV = H / 2;
  const blocks = o.blocks ?? 4;
  const dtype = o.dtype ?? 'F32';
  const config = {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    hidden_size: H,
    intermediate_size: I,
    num_hidden_layers: blocks,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: V,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    hidden_act: 'silu',
    torch_dtype: 'float32',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  let seed = 1;
  const t = (name: string, shape: number[], scale = 0.05) => {
    const r = randn(shape, seed++);
    const data = r.values().map((x) => x * scale);
    return { name, dtype, shape, data };
  };
  const ones = (name: string, n: number) => ({
    name,
    dtype,
    shape: [n],
    data: new Float32Array(n).fill(1),
  });
  const entries = [t('model.embed_tokens.weight', [V, H], 1), ones('model.norm.weight', H)];
  for (let i = 0; i < blocks; i++) {
    const p = `model.layers.${i}.`;
    entries.push(
      t(`${p}self_attn.q_proj.weight`, [H, H]),
      t(`${p}self_attn.k_proj.weight`, [KV, H]),
      t(`${p}self_attn.v_proj.weight`, [KV, H]),
      t(`${p}self_attn.o_proj.weight`, [H, H]),
      t(`${p}mlp.gate_proj.weight`, [I, H]),
      t(`${p}mlp.up_proj.weight`, [I, H]),
      t(`${p}mlp.down_proj.weight`, [H, I]),
      ones(`${p}input_layernorm.weight`, H),
      ones(`${p}post_attention_layernorm.weight`, H),
    );
  }
  writeSafetensors(join(dir, 'model.safetensors'), entries);
  writeTokenizer(dir, V - 1);
}

/** Shard writers that fail like a full disk (ENOSPC, as the real writer reports it) on the `failAt`-th tensor write. */
export function enospcWriters(failAt: number): WriterFactory {
  let writes = 0;
  return (path, specs) => {
    const w = SafetensorsWriter.create(path, specs);
    return {
      copyFrom: (n, src, k) => w.copyFrom(n, src, k),
      write: (n, d) => {
        if (++writes === failAt) {
          throw new CheckpointError(`${path}: cannot write (ENOSPC): no space left on device`, { file: path });
        }
        w.write(n, d);
      },
      commit: () => w.commit(),
      abort: () => w.abort(),
    };
  };
}
