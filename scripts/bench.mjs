// `npm run bench [-- --json] [-- --quick]`: the engine cases (matmul/linear GFLOP/s), then the transformer cases
// (prefill tokens/s, perplexity wall time), then the pruning pipeline (seconds per block, peak memory), one after
// another in one run. Each part is also runnable alone; see the header of its main.js.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const parts = [
  ['packages/tensor/dist/bench/main.js', args],
  ['packages/transformer/dist/bench/main.js', [...(json ? ['--json'] : []), ...(quick ? ['--windows', '4'] : [])]],
  [
    'packages/eval/dist/bench/main.js',
    [...(json ? ['--json'] : []), ...(quick ? ['--docs', '2', '--threads', '2'] : [])],
  ],
  [
    'packages/prune/dist/bench/main.js',
    [...(json ? ['--json'] : []), ...(quick ? ['--blocks', '2', '--windows', '4'] : [])],
  ],
];
for (const [file, extra] of parts) {
  if (!json) console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, [file, ...extra], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
