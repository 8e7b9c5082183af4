// Registers the transformer's prefill benchmark with the engine bench runner (packages/tensor/src/bench):
//   npm run bench -- --with packages/transformer/dist/bench/cases.js --filter prefill [--compare torch.jsonl]
// tools/bench_torch_forward.py prints PyTorch's figures for the same case in the --compare format.
import { addBenchCase } from '@stade/tensor/bench';
import { forwardFlops, OPT_125M_CONFIG, randomIds, randomOptModel } from './prefill.js';

/** Tokens per prefill: 2048, or env STADE_BENCH_PREFILL_SEQLEN for a quick look (match tools/bench_torch_forward.py --seqlen). */
const SEQLEN = Number(process.env.STADE_BENCH_PREFILL_SEQLEN ?? 2048);
if (!Number.isInteger(SEQLEN) || SEQLEN < 1 || SEQLEN > 2048)
  throw new Error(`STADE_BENCH_PREFILL_SEQLEN must be in [1, 2048], got ${SEQLEN}`);
let model: ReturnType<typeof randomOptModel> | null = null;

addBenchCase({
  op: 'prefill',
  shape: `opt-125m-shaped seqlen ${SEQLEN}`,
  flops: forwardFlops(OPT_125M_CONFIG, SEQLEN),
  kernels: ['wasm'],
  threads: [1, 2],
  minMs: 1,
  tags: ['transformer', 'opt'],
  setup: () => {
    model ??= randomOptModel();
    const ids = randomIds(SEQLEN, model.vocabSize, 7);
    const m = model;
    return () => {
      m.forward(ids);
    };
  },
});
