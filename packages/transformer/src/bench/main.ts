// Runs the transformer bench cases (figures print as they come): node packages/transformer/dist/bench/main.js
// [--seqlen N] [--llama-seqlen N] [--windows N] [--threads 1,2] [--repeats N] [--only prefill|perplexity|ratio-opt|ratio-llama]
// [--json]. Results go to stdout, one line per figure (or JSON). The ratio cases time prefill and the linear
// kernel alternately in one run (prefill effective GFLOP/s / kernel GFLOP/s on the same layer shapes).
import { transformerBenchCases } from './prefill.js';
import { ratioBenchCases } from './ratio.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const num = (name: string) => (arg(name) ? Number(arg(name)) : undefined);
const seqlen = num('seqlen');
const windows = num('windows');
const threads = arg('threads')?.split(',').map(Number);
const only = arg('only');
const json = process.argv.includes('--json');
const cases = [
  ...transformerBenchCases({ seqlen, windows, threads }),
  ...ratioBenchCases({ seqlen, llamaSeqlen: num('llama-seqlen'), threads, repeats: num('repeats') }),
];
const results = [];
for (const c of cases) {
  if (only && !c.name.endsWith(only)) continue;
  for (const r of c.run()) {
    results.push(r);
    if (!json)
      console.log(
        `${r.name} [${r.threads} thread(s)]: ${r.value.toFixed(r.unit === 's' || r.unit === 'ratio' ? 2 : 1)} ${r.unit} ${JSON.stringify(r.detail ?? {})}`,
      );
  }
}
if (json) console.log(JSON.stringify(results));
