import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Case, cfg, editConfig, esc, evalArgs, inspect, prune, Q } from './bad-input-cases.js';
import { mutateHeader, readRaw, renameTensorRaw, setHeaderLength, truncate } from './corrupt.js';

/** Missing paths, broken configs and corrupt checkpoints (every SPEC 11 case), across the commands. */
export const checkpointCases: Case[] = [
  // paths, configs and checkpoints (exit code 1)
  {
    name: 'model folder missing',
    args: (c) => evalArgs(c).map((a) => (a === c.model ? join(c.dir, 'nope') : a)),
    culprit: (c) => esc(join(c.dir, 'nope')),
  },
  { name: 'model path is a file', args: (c) => ['inspect', '--model', cfg(c)], culprit: (c) => esc(cfg(c)) },
  { name: 'config.json missing', setup: (c) => unlinkSync(cfg(c)), args: inspect, culprit: (c) => esc(cfg(c)) },
  {
    name: 'config.json invalid JSON',
    setup: (c) => writeFileSync(cfg(c), '{"model_type": "llama",'),
    args: evalArgs,
    culprit: (c) => esc(cfg(c)),
  },
  {
    name: 'config missing a key',
    setup: (c) => editConfig(c, (o) => delete o.hidden_size),
    args: inspect,
    culprit: () => /hidden_size/,
  },
  {
    name: 'unknown model_type',
    setup: (c) =>
      editConfig(c, (o) => {
        o.model_type = 'gpt9';
      }),
    args: (c) => prune(c),
    culprit: () => /gpt9/,
  },
  { name: 'no weights file', setup: (c) => unlinkSync(c.st), args: inspect, culprit: () => /model\.safetensors/ },
  {
    name: 'only pytorch_model.bin',
    setup: (c) => {
      unlinkSync(c.st);
      writeFileSync(join(c.model, 'pytorch_model.bin'), 'x');
    },
    args: inspect,
    culprit: () => /pytorch_model\.bin/,
  },
  { name: 'truncated checkpoint', setup: (c) => truncate(c.st, 0.6), args: evalArgs, culprit: (c) => esc(c.st) },
  { name: 'empty checkpoint file', setup: (c) => writeFileSync(c.st, ''), args: evalArgs, culprit: (c) => esc(c.st) },
  {
    name: 'header length past the end',
    setup: (c) => setHeaderLength(c.st, 10_000_000n),
    args: inspect,
    culprit: (c) => esc(c.st),
  },
  {
    name: 'header length over 100 MB',
    setup: (c) => setHeaderLength(c.st, 200_000_000n),
    args: inspect,
    culprit: (c) => esc(c.st),
  },
  {
    name: 'header not JSON',
    setup: (c) => {
      const b = readFileSync(c.st);
      b.write('#', 8);
      writeFileSync(c.st, b);
    },
    args: inspect,
    culprit: (c) => new RegExp(`${esc(c.st).source}.*JSON`),
  },
  {
    name: 'unknown dtype',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        h[Q]!.dtype = 'F33';
      }),
    args: evalArgs,
    culprit: () => /F33/,
  },
  {
    name: 'overlapping offsets',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        const k = 'model.layers.0.self_attn.k_proj.weight';
        const [b] = h[Q]!.data_offsets;
        const len = h[k]!.data_offsets[1] - h[k]!.data_offsets[0];
        h[k]!.data_offsets = [b, b + len];
      }),
    args: inspect,
    culprit: () => /overlap/,
  },
  {
    name: 'offsets outside the data',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        const n = readRaw(c.st).data.length;
        const len = h[Q]!.data_offsets[1] - h[Q]!.data_offsets[0];
        h[Q]!.data_offsets = [n - len + 4, n + 4];
      }),
    args: inspect,
    culprit: () => new RegExp(esc(Q).source),
  },
  {
    name: 'byte length not shape x dtype',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        h[Q]!.shape = [64, 63];
      }),
    args: (c) => prune(c),
    culprit: () => new RegExp(esc(Q).source),
  },
  {
    name: '__proto__ tensor name',
    setup: (c) => renameTensorRaw(c.st, Q, '__proto__'),
    args: inspect,
    culprit: () => /__proto__/,
  },
  {
    name: 'missing tensor',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        delete h['model.layers.1.mlp.up_proj.weight'];
      }),
    args: evalArgs,
    culprit: () => /model\.layers\.1\.mlp\.up_proj\.weight/,
  },
  {
    name: 'tensor of the wrong shape',
    setup: (c) =>
      mutateHeader(c.st, (h) => {
        h[Q]!.shape = [32, 128];
      }),
    args: inspect,
    culprit: () => new RegExp(`${esc(Q).source}.*\\[32, 128\\]|\\[32, 128\\].*${esc(Q).source}`),
  },
  {
    name: 'shard outside the folder',
    setup: (c) => {
      unlinkSync(c.st);
      writeFileSync(
        join(c.model, 'model.safetensors.index.json'),
        JSON.stringify({ weight_map: { [Q]: '../evil.safetensors' } }),
      );
    },
    args: inspect,
    culprit: () => /evil\.safetensors/,
  },
  {
    name: 'index names a missing shard',
    setup: (c) => {
      unlinkSync(c.st);
      writeFileSync(
        join(c.model, 'model.safetensors.index.json'),
        JSON.stringify({ weight_map: { [Q]: 'model-00001-of-00002.safetensors' } }),
      );
    },
    args: evalArgs,
    culprit: () => /model-00001-of-00002\.safetensors/,
  },
  {
    name: 'missing tokenizer.json',
    setup: (c) => unlinkSync(join(c.model, 'tokenizer.json')),
    args: evalArgs,
    culprit: (c) => esc(join(c.model, 'tokenizer.json')),
  },
  {
    name: 'bad tokenizer_config.json',
    setup: (c) => writeFileSync(join(c.model, 'tokenizer_config.json'), '[1,'),
    args: (c) => prune(c),
    culprit: (c) => esc(join(c.model, 'tokenizer_config.json')),
  },
];
