import { basename } from 'node:path';
import { fmtPct, fmtPpl } from './report/table.js';
import type { PruneResult } from './report/types.js';
import { version } from './version.js';

/** The model card (README.md) of a pruned folder: the recipe and the measured perplexities. */
export function modelCard(r: PruneResult, command: string): string {
  const c = r.calibration;
  const rows: [string, string][] = [
    ['method', r.method],
    ['sparsity', `${r.sparsity} (${r.pattern === 'unstructured' ? 'unstructured' : r.pattern})`],
    ['pattern', r.pattern],
    ['comparison group', r.group],
    ['OWL allocation', r.owl ? 'yes' : 'no'],
    ['bias correction', r.biasCorrection ? 'on' : 'off'],
    ['calibration text', `\`${c.source}\``],
    ['calibration windows', `${c.nsamples} x ${c.seqlen} tokens, ${c.sampling} sampling, seed ${c.seed}`],
    ['zeros achieved', fmtPct(r.zeros)],
    ['dtype', r.dtype],
  ];
  const lines = [
    '---',
    'library_name: transformers',
    'tags:',
    '  - pruned',
    '  - sparse',
    `  - ${r.method}`,
    '---',
    '',
    `# ${basename(r.out)}`,
    '',
    `\`${basename(r.model)}\` pruned with stade ${version()} (post-training pruning in pure TypeScript).`,
    '',
    '## Recipe',
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ];
  if (r.ppl) {
    lines.push(
      '## Perplexity',
      '',
      `Measured on \`${r.ppl.data}\` (${r.ppl.windows} windows of ${r.ppl.seqlen} tokens, documents joined by "\\n\\n"):`,
      '',
      '| model | perplexity |',
      '|---|---|',
      `| dense | ${fmtPpl(r.ppl.dense)} |`,
      `| pruned | ${fmtPpl(r.ppl.pruned)} |`,
      '',
    );
  } else {
    lines.push(
      'Perplexity was not measured (run `stade prune` with `--eval FILE`, or `stade eval` on this folder).',
      '',
    );
  }
  if (r.zeroshot) {
    const z = r.zeroshot;
    lines.push(
      '## Zero-shot accuracy',
      '',
      `lm-evaluation-harness v0.4.x protocol (\`stade zeroshot\`), acc on \`${z.data}\`:`,
      '',
      '| task | n | dense | pruned |',
      '|---|---|---|---|',
      ...Object.keys(z.dense).map(
        (t) => `| ${t} | ${z.dense[t]!.n} | ${z.dense[t]!.acc.toFixed(4)} | ${z.pruned[t]!.acc.toFixed(4)} |`,
      ),
      `| mean | | ${z.dense_mean_acc.toFixed(4)} | ${z.pruned_mean_acc.toFixed(4)} |`,
      '',
    );
  }
  lines.push('## Reproduce', '', '```sh', command, '```', '');
  return lines.join('\n');
}
