#!/usr/bin/env node
// Per-layer SparseGPT, stade against PyTorch's float32 SparseGPT (as the original code runs it), in one run on the
// same machine (issue 9.5). For each shape and round it runs stade's bench (packages/prune/dist/bench/layer.js)
// and tools/bench_prune_torch.py --layers back to back, alternating which goes first, and prints the best wall
// seconds of each side and their ratio (stade / torch; below 1 is faster).
//   node tools/bench_sparsegpt.mjs [--layers 2048x2048,5632x2048,2048x5632] [--windows 8] [--seqlen 512]
//     [--threads 2] [--rounds 2] [--python /usr/bin/python3] [--json]
// Build first (npm run build). Without a Python that imports torch it prints stade's figures only.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const root = fileURLToPath(new URL('..', import.meta.url));
const layers = arg('layers', '2048x2048,5632x2048,2048x5632').split(',');
const common = ['--windows', arg('windows', '8'), '--seqlen', arg('seqlen', '512'), '--threads', arg('threads', '2')];
const rounds = Number(arg('rounds', '2'));
const python = arg('python', '/usr/bin/python3');
const json = process.argv.includes('--json');

const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

const once = {
  stade: (shape) => run(process.execPath, ['packages/prune/dist/bench/layer.js', '--layers', shape, ...common])[0],
  torch: (shape) => run(python, ['tools/bench_prune_torch.py', '--layers', shape, ...common])[0],
};

const rows = [];
for (const shape of layers) {
  const best = { stade: null, torch: null };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['stade', 'torch'] : ['torch', 'stade'];
    for (const side of order) {
      if (side === 'torch' && !hasTorch) continue;
      const res = once[side](shape);
      if (!best[side] || res.total < best[side].total) best[side] = res;
    }
  }
  const row = {
    shape,
    stade: best.stade,
    torch: best.torch,
    ratio: best.torch ? best.stade.total / best.torch.total : null,
  };
  rows.push(row);
  if (!json) {
    const s = best.stade;
    const t = best.torch;
    const fmt = (x) =>
      `${x.total.toFixed(2)} s (Hessian ${x.hessian.toFixed(2)}, prune ${x.prune.toFixed(2)}; CPU ${x.cpuSeconds.toFixed(2)} s)`;
    console.log(
      `sparsegpt layer ${shape} [${s.threads} thread(s), ${s.windows}x${s.seqlen} tokens]: stade ${fmt(s)}` +
        (t
          ? `; torch float32 ${fmt(t)}; wall ratio ${row.ratio.toFixed(2)}x, CPU ratio ${(s.cpuSeconds / t.cpuSeconds).toFixed(2)}x`
          : '; torch not available'),
    );
  }
}
if (json) console.log(JSON.stringify(rows));
