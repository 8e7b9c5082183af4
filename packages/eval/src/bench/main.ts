// Zero-shot scoring speed on OPT-125M's shape and an estimate of the seven full evaluation sets.
//   node packages/eval/dist/bench/main.js [--model DIR] [--docs N] [--threads 1,2] [--batch-rows R] [--torch] [--torch-threads 2] [--json]
// Without --model, a random-weight OPT-125M-shaped F32 checkpoint is written to a temporary folder with
// tools/make_scale_checkpoint.mjs (and removed afterwards). Documents are random token ids with each task's
// typical lengths (GPT-2 tokens; assumptions listed in PROFILES), scored with the real code path
// (Scorer.scoreDocs: documents packed into forwards, shared contexts, the head on continuation rows only).
// --torch also times tools/ref_zeroshot.py --bench (PyTorch, the harness's one-forward-per-request loop, 2 threads)
// on the same documents and reports the ratios and the largest relative difference of the log-likelihoods.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setThreads } from '@stade/tensor';
import { loadModel } from '@stade/transformer';
import type { EncodedPair } from '../encode.js';
import { Scorer, type ScoreStats } from '../score.js';

/** Per task: evaluation documents, context tokens, choice tokens per choice (typical GPT-2 token lengths). */
const PROFILES = [
  { task: 'boolq', docs: 3270, ctx: 145, conts: [1, 1] },
  { task: 'rte', docs: 277, ctx: 75, conts: [1, 1] },
  { task: 'hellaswag', docs: 10042, ctx: 45, conts: [30, 28, 32, 26] },
  { task: 'winogrande', docs: 1267, ctx: 0, conts: [] }, // two contexts of ~18 tokens, continuation ~8
  { task: 'arc_easy', docs: 2376, ctx: 28, conts: [5, 6, 4, 7] },
  { task: 'arc_challenge', docs: 1172, ctx: 34, conts: [7, 6, 8, 6] },
  { task: 'openbookqa', docs: 500, ctx: 14, conts: [5, 6, 4, 5] },
] as const;

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const json = process.argv.includes('--json');
const torch = process.argv.includes('--torch'); // also time tools/ref_zeroshot.py on the same documents
const perTask = Number(arg('docs', '12'));
const batchRows = Number(arg('batch-rows', '512'));
const torchThreads = arg('torch-threads', '2');
const threadList = arg('threads', '1,2').split(',').map(Number);

let seed = 12345;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed % n;
};
const ids = (n: number) => Int32Array.from({ length: n }, () => 100 + rnd(4000));

/** One random document of a task profile as encoded requests. */
function doc(p: (typeof PROFILES)[number]): EncodedPair[] {
  if (p.task === 'winogrande') {
    const head = ids(10);
    const cont = ids(8);
    return [ids(8), ids(8)].map((o) => ({ context: Int32Array.from([...head, ...o]), continuation: cont }));
  }
  const context = ids(p.ctx);
  return p.conts.map((n) => ({ context, continuation: ids(n) }));
}

interface TorchTask {
  task: string;
  seconds: number;
  cpu_seconds: number;
  lls: number[][];
}

/**
 * PyTorch's rate on the same documents (tools/ref_zeroshot.py --bench: the harness's loop, 2 threads) and the
 * largest relative difference of the log-likelihoods; ratios against `ours` (the last thread count's run).
 */
function torchRates(
  model: string,
  docs: { task: string; docs: EncodedPair[][] }[],
  ours: { task: string; docs_per_s: number; docs_per_cpu_s: number; lls: number[][] }[],
) {
  const tmpDir = mkdtempSync(join(tmpdir(), 'stade-zeroshot-torch-'));
  try {
    const file = join(tmpDir, 'requests.json');
    const plain = docs.map((t) => ({
      task: t.task,
      docs: t.docs.map((d) => d.map((r) => ({ context: [...r.context], continuation: [...r.continuation] }))),
    }));
    writeFileSync(file, JSON.stringify({ model, tasks: plain }));
    const script = fileURLToPath(new URL('../../../../tools/ref_zeroshot.py', import.meta.url));
    const r = spawnSync('/usr/bin/python3', [script, '--bench', file, '--threads', torchThreads], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`ref_zeroshot.py --bench failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { torch_version: string; threads: number; tasks: TorchTask[] };
    const tasks = out.tasks.map((t, i) => {
      const mine = ours[i]!;
      let maxRel = 0;
      t.lls.forEach((d, j) => {
        d.forEach((ll, k) => {
          maxRel = Math.max(maxRel, Math.abs(mine.lls[j]![k]! - ll) / Math.abs(ll));
        });
      });
      const n = t.lls.length;
      return {
        task: t.task,
        docs_per_s: n / t.seconds,
        docs_per_cpu_s: n / t.cpu_seconds,
        ratio_wall: mine.docs_per_s / (n / t.seconds),
        ratio_cpu: mine.docs_per_cpu_s / (n / t.cpu_seconds),
        max_rel_diff: maxRel,
      };
    });
    return { torch_version: out.torch_version, threads: out.threads, tasks };
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

let dir = arg('model', '');
let tmp: string | null = null;
if (!dir) {
  tmp = mkdtempSync(join(tmpdir(), 'stade-zeroshot-bench-'));
  const script = fileURLToPath(new URL('../../../../tools/make_scale_checkpoint.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--shape', 'opt-125m', '--dtype', 'f32', '--out', tmp, '--force'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error('make_scale_checkpoint.mjs failed');
  dir = tmp;
}
try {
  const model = loadModel(dir);
  const results = [];
  const torchDocs: { task: string; docs: EncodedPair[][] }[] = [];
  for (const threads of threadList) {
    setThreads(threads);
    new Scorer(model).scoreDocs([doc(PROFILES[2])]); // warm-up: weights loaded, pool started
    let totalSeconds = 0;
    let totalCpu = 0;
    const tasks = [];
    for (const p of PROFILES) {
      const stats: ScoreStats = { forwards: 0, tokens: 0, headRows: 0 };
      const scorer = new Scorer(model, { batchRows }, stats);
      const docs = Array.from({ length: perTask }, () => doc(p));
      const naiveTokens = docs.flat().reduce((s, r) => s + r.context.length + r.continuation.length - 1, 0);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const lls = scorer.scoreDocs(docs);
      const sec = (performance.now() - t0) / 1000;
      const c1 = process.cpuUsage(c0);
      const cpu = (c1.user + c1.system) / 1e6;
      if (torch && threads === threadList[threadList.length - 1]) torchDocs.push({ task: p.task, docs });
      const full = (sec / perTask) * p.docs;
      totalSeconds += full;
      totalCpu += (cpu / perTask) * p.docs;
      tasks.push({
        task: p.task,
        tokens_per_s: stats.tokens / sec,
        tokens_per_cpu_s: stats.tokens / cpu,
        harness_tokens_per_s: naiveTokens / sec,
        docs_per_s: perTask / sec,
        docs_per_cpu_s: perTask / cpu,
        s_per_doc: sec / perTask,
        full_set_s: full,
        lls,
      });
    }
    results.push({ threads, tasks, seven_sets_minutes: totalSeconds / 60, seven_sets_cpu_minutes: totalCpu / 60 });
  }
  const reference = torch ? torchRates(dir, torchDocs, results[results.length - 1]!.tasks) : null;
  for (const r of results) for (const t of r.tasks) delete (t as { lls?: unknown }).lls;
  if (json)
    console.log(
      JSON.stringify({
        bench: 'zeroshot',
        model: tmp ? 'random opt-125m shape (F32)' : dir,
        batch_rows: batchRows,
        load_average: loadavg(),
        results,
        torch: reference,
      }),
    );
  else {
    console.log(
      `zero-shot scoring, ${tmp ? 'random OPT-125M-shaped F32 model' : dir}, ${perTask} documents per task, ` +
        `${batchRows} rows per packed forward, load average ${loadavg()[0]!.toFixed(1)}`,
    );
    for (const r of results) {
      console.log(`\n${r.threads} thread(s)`);
      console.log('task            tokens/s  tokens/CPU-s  harness-equivalent tokens/s  docs/s  docs/CPU-s   full set');
      for (const t of r.tasks) {
        console.log(
          `${t.task.padEnd(14)} ${t.tokens_per_s.toFixed(0).padStart(9)}  ${t.tokens_per_cpu_s.toFixed(0).padStart(12)}  ${t.harness_tokens_per_s.toFixed(0).padStart(27)}  ${t.docs_per_s.toFixed(2).padStart(6)}  ${t.docs_per_cpu_s.toFixed(2).padStart(10)}  ${(t.full_set_s / 60).toFixed(1).padStart(6)} min`,
        );
      }
      console.log(
        `estimated time of the seven full sets: ${r.seven_sets_minutes.toFixed(1)} min wall, ${r.seven_sets_cpu_minutes.toFixed(1)} min of CPU time`,
      );
    }
    if (reference) {
      console.log(
        `\nPyTorch ${reference.torch_version}, ${reference.threads} threads, the harness's loop (one forward per request), same documents`,
      );
      console.log('task            docs/s  docs/CPU-s  stade/torch (wall)  stade/torch (CPU)  max rel. ll diff');
      for (const t of reference.tasks) {
        console.log(
          `${t.task.padEnd(14)} ${t.docs_per_s.toFixed(2).padStart(6)}  ${t.docs_per_cpu_s.toFixed(2).padStart(10)}  ${t.ratio_wall.toFixed(2).padStart(18)}  ${t.ratio_cpu.toFixed(2).padStart(17)}  ${t.max_rel_diff.toExponential(1).padStart(16)}`,
        );
      }
    }
  }
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
