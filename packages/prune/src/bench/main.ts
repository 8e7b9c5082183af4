// The prune pipeline benchmark (issue 4, "Speed"): a random OPT-125M-shaped model held in memory, `--windows`
// calibration windows of `--seqlen` tokens, the sequential driver for each method and thread count.
//   node packages/prune/dist/bench/main.js [--windows 16] [--seqlen 512] [--threads 1,2]
//     [--methods wanda,stade,sparsegpt] [--blocks 12] [--hidden 768] [--ffn 3072] [--json]
// Prints seconds per block and in total, and the peak resident memory. tools/bench_prune_torch.py runs the same
// pipeline in PyTorch for the ratio.
import { getThreads, setThreads, Tensor } from '@stade/tensor';
import { MemorySource, modelFromSource } from '@stade/transformer';
import { type Method, pruneModel } from '../index.js';
import { Rng } from '../rng.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

const windowsN = Number(arg('windows', '16'));
const seqlen = Number(arg('seqlen', '512'));
const threads = arg('threads', '1,2').split(',').map(Number);
const methods = arg('methods', 'wanda,stade,sparsegpt').split(',') as Method[];
const blocks = Number(arg('blocks', '12'));
const hidden = Number(arg('hidden', '768'));
const ffn = Number(arg('ffn', '3072'));
const json = process.argv.includes('--json');

/** A random OPT model (uniform weights scaled by fan-in) of the OPT-125M shape unless overridden. */
function randomOpt(seed: number) {
  const config = {
    model_type: 'opt',
    vocab_size: 50272,
    hidden_size: hidden,
    word_embed_proj_dim: hidden,
    ffn_dim: ffn,
    num_attention_heads: hidden / 64,
    num_hidden_layers: blocks,
    max_position_embeddings: 2048,
    do_layer_norm_before: true,
    activation_function: 'relu',
    enable_bias: true,
    tie_word_embeddings: true,
  };
  let x = seed >>> 0 || 1; // xorshift32: filling ~125M values must be quick
  const tensors: [string, Tensor][] = [];
  const rand = (name: string, shape: number[], s: number) => {
    const t = Tensor.zeros(shape);
    const d = t.data;
    for (let k = 0; k < d.length; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      d[k] = ((x >>> 0) / 2147483648 - 1) * s;
    }
    tensors.push([name, t]);
  };
  const ones = (name: string, shape: number[]) => tensors.push([name, Tensor.full(shape, 1)]);
  rand('model.decoder.embed_tokens.weight', [config.vocab_size, hidden], 0.1);
  rand('model.decoder.embed_positions.weight', [config.max_position_embeddings + 2, hidden], 0.1);
  ones('model.decoder.final_layer_norm.weight', [hidden]);
  rand('model.decoder.final_layer_norm.bias', [hidden], 0.01);
  for (let i = 0; i < blocks; i++) {
    const p = `model.decoder.layers.${i}.`;
    for (const l of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      rand(`${p}self_attn.${l}.weight`, [hidden, hidden], Math.sqrt(3 / hidden));
      rand(`${p}self_attn.${l}.bias`, [hidden], 0.01);
    }
    rand(`${p}fc1.weight`, [ffn, hidden], Math.sqrt(3 / hidden));
    rand(`${p}fc1.bias`, [ffn], 0.01);
    rand(`${p}fc2.weight`, [hidden, ffn], Math.sqrt(3 / ffn));
    rand(`${p}fc2.bias`, [hidden], 0.01);
    for (const ln of ['self_attn_layer_norm', 'final_layer_norm']) {
      ones(`${p}${ln}.weight`, [hidden]);
      rand(`${p}${ln}.bias`, [hidden], 0.01);
    }
  }
  return modelFromSource(new MemorySource(config, tensors, '<random opt>'));
}

const rng = new Rng(7);
const windows = Array.from({ length: windowsN }, () => Int32Array.from({ length: seqlen }, () => rng.int(0, 50271)));
const before = getThreads();
const results: Record<string, unknown>[] = [];
for (const t of threads) {
  for (const method of methods) {
    const model = randomOpt(1);
    setThreads(t);
    let peak = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const report = pruneModel(model, windows, {
      method,
      sparsity: 0.5,
      layerMetricWindows: 0,
      onProgress: () => {
        peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    peak = Math.max(peak, process.memoryUsage().rss);
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6; // all threads of the process
    const perBlock = report.blocks.map((b) => b.seconds);
    const r = {
      method,
      threads: t,
      windows: windowsN,
      seqlen,
      blocks,
      seconds: report.seconds,
      cpuSeconds,
      secondsPerBlock: perBlock.reduce((a, b) => a + b, 0) / perBlock.length,
      peakRssMB: peak / 2 ** 20,
      perBlock,
    };
    results.push(r);
    if (!json) {
      console.log(
        `prune ${method} [${t} thread(s)] ${windowsN}x${seqlen} tokens, ${blocks} blocks: ${report.seconds.toFixed(1)} s total, ` +
          `${r.secondsPerBlock.toFixed(2)} s/block, ${cpuSeconds.toFixed(1)} s CPU, peak RSS ${r.peakRssMB.toFixed(0)} MB`,
      );
    }
  }
}
setThreads(before);
if (json) console.log(JSON.stringify(results));
