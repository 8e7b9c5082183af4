import { bool, type Values } from '../args.js';
import type { Io } from '../io.js';
import { fmtCount, fmtPct, renderTable } from '../report/table.js';
import { openModel, resolveModelDir } from './common.js';

/** One prunable linear layer as `stade inspect` reports it. */
export interface InspectLayer {
  name: string;
  shape: number[];
  dtype: string;
  /** Fraction of exact zeros in the weight. */
  sparsity: number;
  bias: boolean;
}

/** `stade inspect --json` output. */
export interface InspectResult {
  model: string;
  model_type: string;
  architecture: Record<string, unknown>;
  parameters: number;
  dtype: string;
  /** Parameters per stored dtype. */
  dtypes: Record<string, number>;
  files: string[];
  /** Fraction of zeros over all prunable linear weights. */
  sparsity: number;
  layers: InspectLayer[];
}

const ARCH_KEYS = [
  'num_hidden_layers',
  'hidden_size',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'intermediate_size',
  'ffn_dim',
  'vocab_size',
  'max_position_embeddings',
  'tie_word_embeddings',
  'do_layer_norm_before',
  'word_embed_proj_dim',
  'attention_bias',
  'mlp_bias',
  'rope_theta',
  'rope_scaling',
  'sliding_window',
];

/** `stade inspect`: architecture, parameter count, dtype and per-layer sparsity. */
export async function inspectCommand(v: Values, io: Io): Promise<InspectResult> {
  const dir = resolveModelDir(v);
  const { ckpt, model } = openModel(dir);
  const cfg = ckpt.modelConfig as unknown as Record<string, unknown>;
  const architecture: Record<string, unknown> = {};
  for (const k of ARCH_KEYS) if (cfg[k] !== undefined && cfg[k] !== null) architecture[k] = cfg[k];
  let parameters = 0;
  const dtypes: Record<string, number> = {};
  for (const name of ckpt.names()) {
    const info = ckpt.info(name);
    const n = info.shape.reduce((a, d) => a * d, 1);
    parameters += n;
    dtypes[info.dtype] = (dtypes[info.dtype] ?? 0) + n;
  }
  const layers: InspectLayer[] = [];
  let zeros = 0;
  let total = 0;
  for (let i = 0; i < model.numBlocks; i++) {
    for (const name of model.linearNames(i)) {
      const info = ckpt.info(`${name}.weight`);
      const w = ckpt.get(`${name}.weight`).values();
      let z = 0;
      for (let k = 0; k < w.length; k++) if (w[k] === 0) z++;
      zeros += z;
      total += w.length;
      layers.push({
        name,
        shape: [...info.shape],
        dtype: info.dtype,
        sparsity: w.length ? z / w.length : 0,
        bias: ckpt.has(`${name}.bias`),
      });
    }
    model.releaseBlock(i);
  }
  const result: InspectResult = {
    model: dir,
    model_type: model.modelType,
    architecture,
    parameters,
    dtype: ckpt.dtype,
    dtypes,
    files: ckpt.files.map((f) => f.path),
    sparsity: total ? zeros / total : 0,
    layers,
  };
  ckpt.close();
  if (bool(v, 'json')) {
    io.out(`${JSON.stringify(result)}\n`);
    return result;
  }
  const kv: [string, string][] = [
    ['model', dir],
    ['model_type', result.model_type],
    ...Object.entries(architecture).map(([k, val]): [string, string] => [k, JSON.stringify(val)]),
    ['parameters', `${fmtCount(parameters)} (${parameters})`],
    [
      'dtype',
      `${result.dtype}${
        Object.keys(dtypes).length > 1
          ? ` (${Object.entries(dtypes)
              .map(([d, n]) => `${d}: ${n}`)
              .join(', ')})`
          : ''
      }`,
    ],
    ['sparsity', `${fmtPct(result.sparsity)} of ${fmtCount(total)} prunable linear weights`],
  ];
  const w = Math.max(...kv.map(([k]) => k.length));
  const lines = [
    ...kv.map(([k, val]) => `${k.padEnd(w)}  ${val}`),
    '',
    renderTable(
      [
        { header: 'layer' },
        { header: 'shape' },
        { header: 'dtype' },
        { header: 'zeros', align: 'right' },
        { header: 'bias' },
      ],
      layers.map((l) => [l.name, `[${l.shape.join(', ')}]`, l.dtype, fmtPct(l.sparsity), l.bias ? 'yes' : 'no']),
    ),
    '',
  ];
  io.out(lines.join('\n'));
  return result;
}
