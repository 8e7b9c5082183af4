// `npm run bench [-- --json] [-- --quick]`: the engine cases (matmul/linear GFLOP/s), then the transformer cases
// (prefill tokens/s, perplexity wall time), then the pruning pipeline (seconds per block, peak memory), one after
// another in one run, then the SIMD matmul's GFLOP/s on each installed runtime (`-- --runtimes`: that part only).
// Each part is also runnable alone; see the header of its main.js.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const runtimesOnly = args.includes('--runtimes'); // only the GFLOP/s per runtime (last part)
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
for (const [file, extra] of runtimesOnly ? [] : parts) {
  if (!json) console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, [file, ...extra], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// GFLOP/s of the SIMD matmul on every installed runtime (Node 20, Node LTS, Bun, Deno from tests/runtimes/engines,
// installed by `npm test` or `node tests/runtimes/install.mjs`), one after another in this run.
const { runtimeCommands } = await import('../tests/runtimes/install.mjs');
const shape = '2048x768 by 3072x768';
const rows = [];
for (const rt of runtimeCommands().filter((r) => existsSync(r.cmd))) {
  const benchArgs = [
    '--filter',
    shape,
    '--kernel',
    'wasm',
    '--threads',
    '1,2',
    '--json',
    ...(quick ? ['--quick'] : []),
  ];
  const r = spawnSync(rt.cmd, [...rt.pre, 'packages/tensor/dist/bench/main.js', ...benchArgs], {
    cwd: root,
    encoding: 'utf8',
  });
  const version = spawnSync(rt.cmd, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim();
  if (r.status !== 0) {
    console.error(`bench: ${rt.name} failed: ${r.stderr}`);
    process.exit(r.status ?? 1);
  }
  const features = spawnSync(rt.cmd, [...rt.pre, 'tests/runtimes/probes/features.mjs'], {
    cwd: root,
    encoding: 'utf8',
  });
  const fma = JSON.parse(features.stdout.trim() || '{}').relaxedFma === true;
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const x = JSON.parse(line);
    rows.push({
      runtime: rt.name,
      version,
      relaxedFma: fma,
      op: x.op,
      shape: x.shape,
      threads: x.threads,
      gflops: x.gflops,
      cpuGflops: x.cpuGflops,
    });
  }
}
if (json) for (const x of rows) console.log(JSON.stringify({ part: 'runtimes', ...x }));
else {
  console.log(`\n== GFLOP/s per runtime: linear ${shape}, WebAssembly SIMD kernel`);
  console.log('runtime    version                 relaxed FMA  threads  GFLOP/s  per CPU-s');
  for (const x of rows) {
    console.log(
      `${x.runtime.padEnd(10)} ${x.version.slice(0, 22).padEnd(23)} ${String(x.relaxedFma).padEnd(12)} ${String(x.threads).padStart(7)}  ${x.gflops.toFixed(2).padStart(7)}  ${(x.cpuGflops ?? 0).toFixed(2).padStart(9)}`,
    );
  }
}
