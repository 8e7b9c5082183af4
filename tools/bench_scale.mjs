#!/usr/bin/env node
// `npm run bench:scale`: wall time and peak RSS of `stade eval` and `stade prune` on a random-weight checkpoint at
// a real shape, and of the PyTorch pipeline on the same checkpoint and the same token ids when python3 with torch
// is available. Every run is a child process of its own. See tools/README.md.
//
//   npm run bench:scale -- [--shape llama-1.1b] [--methods wanda,stade,sparsegpt] [--nsamples 8] [--seqlen 512]
//       [--eval-seqlen 2048] [--max-windows 1] [--threads 2] [--model DIR] [--keep] [--no-torch] [--no-eval]
//       [--no-stade]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'apps/cli/dist/main.js');
const CALIB = path.join(ROOT, 'models/text/calibration.txt');
const EVAL = path.join(ROOT, 'models/text/eval.txt');
const PYTHON = '/usr/bin/python3';

function parseArgs(argv) {
  const o = {
    shape: 'llama-1.1b',
    methods: 'wanda,stade,sparsegpt',
    nsamples: 8,
    seqlen: 512,
    evalSeqlen: 2048,
    maxWindows: 1,
    threads: 2,
    model: null,
    keep: false,
    torch: true,
    eval: true,
    stade: true,
  };
  const flags = { '--nsamples': 'nsamples', '--seqlen': 'seqlen', '--eval-seqlen': 'evalSeqlen' };
  Object.assign(flags, { '--max-windows': 'maxWindows', '--threads': 'threads' });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--shape') o.shape = argv[++i];
    else if (a === '--methods') o.methods = argv[++i];
    else if (a === '--model') o.model = argv[++i];
    else if (a === '--keep') o.keep = true;
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--no-eval') o.eval = false;
    else if (a === '--no-stade') o.stade = false;
    else if (a in flags) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a}: expected a positive integer`);
      o[flags[a]] = n;
    } else throw new Error(`bench_scale: unknown option ${a}`);
  }
  return o;
}

const TIME = '/usr/bin/time';

/**
 * Runs a child, returns wall seconds, CPU seconds (user + sys, from GNU time when installed, else null), exit status
 * and stdout; stderr passes through. CPU seconds keep the stade/PyTorch ratio meaningful on a loaded machine.
 */
function run(cmd, args, env = {}) {
  const timeFile = fs.existsSync(TIME) ? path.join(os.tmpdir(), `stade-scale-time-${process.pid}.txt`) : null;
  const [c, a] = timeFile ? [TIME, ['-f', '%U %S %M', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const r = spawnSync(c, a, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 28,
  });
  const seconds = (performance.now() - t0) / 1000;
  let cpu = null;
  let maxRssMb = null;
  if (timeFile && fs.existsSync(timeFile)) {
    const last = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    const [u, sy, kb] = last.split(' ').map(Number);
    if (Number.isFinite(u) && Number.isFinite(sy)) cpu = u + sy;
    if (Number.isFinite(kb)) maxRssMb = Math.round(kb / 1024);
    fs.rmSync(timeFile, { force: true });
  }
  return { seconds, cpu, maxRssMb, status: r.status, signal: r.signal, stdout: r.stdout ?? '' };
}

/** The last JSON object printed on stdout, or null. */
function lastJson(stdout) {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l);
    } catch {
      // progress or text
    }
  }
  return null;
}

function torchAvailable() {
  if (!fs.existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Writes the calibration windows and evaluation ids stade uses (the model's tokenizer) for the PyTorch side. */
async function writeIds(model, o, file) {
  const text = await import(path.join(ROOT, 'apps/cli/dist/text.js'));
  const tok = text.loadTokenizer(model);
  const calib = text.tokenizeJoined(tok, text.readDocuments(CALIB));
  const evalIds = text.tokenizeJoined(tok, text.readDocuments(EVAL));
  const windows = [];
  for (let s = 0; s < o.nsamples; s++) windows.push([...calib.subarray(s * o.seqlen, (s + 1) * o.seqlen)]);
  const ev = [...evalIds.subarray(0, o.maxWindows * o.evalSeqlen)];
  fs.writeFileSync(file, JSON.stringify({ calib: windows, eval: ev, evalSeqlen: o.evalSeqlen }));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `stade-scale-${o.shape}-`));
  const rows = [];
  try {
    let model = o.model;
    if (!model) {
      model = path.join(work, o.shape);
      const g = run(process.execPath, [
        path.join(ROOT, 'tools/make_scale_checkpoint.mjs'),
        '--shape',
        o.shape,
        '--out',
        model,
      ]);
      if (g.status !== 0) throw new Error('make_scale_checkpoint failed');
      process.stderr.write(g.stdout);
    }
    const env = { STADE_THREADS: String(o.threads) };
    const stade = (label, args) => {
      process.stderr.write(`\n== stade ${label}\n`);
      const r = run(process.execPath, [CLI, ...args, '--json'], env);
      const j = lastJson(r.stdout);
      const peakRssMb = j?.peakRssMb ?? r.maxRssMb;
      rows.push({ side: 'stade', run: label, wall: r.seconds, cpu: r.cpu, peakRssMb, ok: r.status === 0, j });
    };
    if (o.eval && o.stade) {
      const w = `--seqlen ${o.evalSeqlen} --max-windows ${o.maxWindows}`;
      stade(`eval ${w}`, ['eval', '--model', model, '--data', EVAL, ...w.split(' ')]);
    }
    const calibFlags = ['--nsamples', String(o.nsamples), '--seqlen', String(o.seqlen), '--sampling', 'contiguous'];
    for (const m of o.stade ? o.methods.split(',') : []) {
      const out = path.join(work, `out-${m}`);
      stade(`prune ${m}`, [
        'prune',
        '--model',
        model,
        '--method',
        m,
        '--sparsity',
        '0.5',
        '--calib',
        CALIB,
        ...calibFlags,
        '--out',
        out,
      ]);
      fs.rmSync(out, { recursive: true, force: true });
    }
    if (o.torch && torchAvailable()) {
      const ids = path.join(work, 'ids.json');
      await writeIds(model, o, ids);
      const runs = [...(o.eval ? ['eval'] : []), ...o.methods.split(',')];
      for (const r of runs) {
        process.stderr.write(`\n== torch ${r}\n`);
        const args = [path.join(ROOT, 'tools/bench_scale_torch.py'), '--model', model, '--ids', ids, '--run', r];
        const t = run(PYTHON, [...args, '--threads', String(o.threads)]);
        const j = lastJson(t.stdout);
        const peakRssMb = j?.peakRssMb ?? t.maxRssMb;
        rows.push({ side: 'torch', run: r, wall: t.seconds, cpu: t.cpu, peakRssMb, ok: t.status === 0, j });
      }
    } else if (o.torch)
      process.stderr.write('\n(PyTorch not available: python3 with torch is needed for its figures)\n');
  } finally {
    if (!o.keep) fs.rmSync(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }
  const cpus = os.cpus();
  console.log(
    `\n${o.shape}: ${o.nsamples} x ${o.seqlen} contiguous calibration, eval ${o.maxWindows} x ${o.evalSeqlen}, ` +
      `${o.threads} threads, ${cpus.length} CPUs (${cpus[0]?.model ?? '?'}), load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
  console.log('side   run                              wall s    CPU s   peak RSS MB  status');
  for (const r of rows) {
    const rss = r.peakRssMb === null ? '-' : String(r.peakRssMb);
    const cpu = r.cpu === null ? '-' : r.cpu.toFixed(1);
    const status = r.ok ? (r.j?.skipped ? `skipped: ${r.j.skipped}` : 'ok') : 'FAILED';
    console.log(
      `${r.side.padEnd(6)} ${r.run.padEnd(32)} ${r.wall.toFixed(1).padStart(7)} ${cpu.padStart(8)} ${rss.padStart(12)}  ${status}`,
    );
  }
  // stade / PyTorch per run (wall and CPU seconds; CPU survives a loaded machine better)
  for (const t of rows.filter((x) => x.side === 'torch' && x.ok && !x.j?.skipped)) {
    const s = rows.find(
      (x) => x.side === 'stade' && x.ok && (x.run === `prune ${t.run}` || x.run.startsWith(`${t.run} `)),
    );
    if (!s) continue;
    const cpu = s.cpu && t.cpu ? `${(s.cpu / t.cpu).toFixed(2)}x` : '-';
    console.log(`ratio  ${t.run.padEnd(32)} wall ${(s.wall / t.wall).toFixed(2)}x  CPU ${cpu}  (stade / PyTorch)`);
  }
  console.log(JSON.stringify({ shape: o.shape, rows: rows.map(({ j, ...r }) => r) }));
}

main().catch((e) => {
  console.error(`bench_scale: ${e.message}`);
  process.exit(1);
});
