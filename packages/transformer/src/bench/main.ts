// Runs the transformer bench cases (figures print as they come): node packages/transformer/dist/bench/main.js [--seqlen N] [--windows N]
// [--threads 1,2] [--only prefill|perplexity] [--json]. Results go to stdout, one line per figure (or JSON).
import { transformerBenchCases } from './prefill.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seqlen = arg('seqlen') ? Number(arg('seqlen')) : undefined;
const windows = arg('windows') ? Number(arg('windows')) : undefined;
const threads = arg('threads')?.split(',').map(Number);
const only = arg('only');
const json = process.argv.includes('--json');
const results = [];
for (const c of transformerBenchCases({ seqlen, windows, threads })) {
  if (only && !c.name.endsWith(only)) continue;
  for (const r of c.run()) {
    results.push(r);
    if (!json)
      console.log(
        `${r.name} [${r.threads} thread(s)]: ${r.value.toFixed(r.unit === 's' ? 2 : 1)} ${r.unit} ${JSON.stringify(r.detail ?? {})}`,
      );
  }
}
if (json) console.log(JSON.stringify(results));
