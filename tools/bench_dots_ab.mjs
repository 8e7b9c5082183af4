// `node tools/bench_dots_ab.mjs --base DIST [--b DIST] [--threads 2] [--kind bf16] [--shapes 2048x2048,...]
// [--mb 160] [--rounds 40] [--optsA JSON] [--optsB JSON]` (after `npm run build`): the dense decode kernel
// (`emitDots`, dots_emit.ts) of two builds, A = `--base` (a copy of packages/tensor/dist, e.g. main's) and B =
// `--b` (default: this build), each with its emitter options (e.g. `--optsB '{"dotsRows":2}'`), on the same
// weights in one shared memory: several copies, `--mb` in total, so that they stream from DRAM as resident weights
// do (`--mb 0.25`: W in L2), each thread its share of every copy's rows. A kernel gets a 7th argument, 64 bytes a
// row of scratch (for a variant that keeps accumulators between k blocks). Checks A and B give the same bits, warms
// both up, then times `rounds` pairs of passes, the order alternating, and prints B's speed over A's (median of the
// pairs, with quartiles): a ratio measured under the same load, which is what counts on a busy machine.
// Tool-level options in --optsA/--optsB: `sharedX: true`, every thread reads the same x (else a copy each);
// `interleave: R`, threads take turns over blocks of R rows (else each thread one contiguous share); `solo: true`,
// the first thread does all rows (the others idle: thread scaling in one process).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { option } from './bench_best_ms.mjs';

const here = new URL('../packages/tensor/dist/', import.meta.url).pathname;
// B's build: this one unless `--b DIR` (read in the workers too)
const bDist = isMainThread ? option(process.argv.slice(2), 'b', here) : workerData.bDist;

async function kernels(mem, base, kind, optsA, optsB) {
  const make = async (dist, opts) => {
    const { emitDots } = await import(`${dist}/wasm/dots_emit.js`);
    const { ModuleBuilder } = await import(`${dist}/wasm/emitter.js`);
    const m = new ModuleBuilder().importSharedMemory('env', 'memory', 1, 65536);
    const d = emitDots({ fma: false, reloadB: false, ...opts }, kind);
    m.addFunction('dots', d.params, d.results, d.locals, d.code);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(m.build()), { env: { memory: mem } });
    return inst.exports.dots;
  };
  return [await make(base, optsA), await make(bDist, optsB)];
}

// ctl: [0] generation, [1] done count, [2] variant, [3] shape index
if (!isMainThread) {
  const { mem, ctl, base, kind, optsA, optsB, plan, t } = workerData;
  const dots = await kernels(mem, base, kind, optsA, optsB);
  const c = new Int32Array(ctl);
  let gen = 0;
  parentPort.postMessage('ready');
  for (;;) {
    Atomics.wait(c, 0, gen);
    gen = Atomics.load(c, 0);
    if (c[2] < 0) break;
    runShare(dots[c[2]], plan[c[3]], t, [optsA, optsB][c[2]]);
    Atomics.add(c, 1, 1);
    Atomics.notify(c, 1);
  }
  process.exit(0);
}

/** One pass: thread t's rows of every copy (tool-level options `o`: see the header). */
function runShare(dots, p, t, o = {}) {
  const x = p.x + (o.sharedX ? 0 : t * p.xStride);
  const acc = p.acc + t * p.accStride;
  const threads = o.solo ? 1 : p.threads;
  if (t >= threads) return;
  const b = o.interleave ?? Math.ceil(p.n / threads);
  for (let c = 0; c < p.copies; c++)
    for (let r0 = t * b; r0 < p.n; r0 += threads * b) {
      const cnt = Math.min(b, p.n - r0);
      dots(x, p.w + c * p.wBytes + r0 * p.ldw, p.k, cnt, p.ldw, p.out + r0 * 4, acc);
    }
}

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const base = opt('base', here);
const threads = Number(opt('threads', '2'));
const kind = opt('kind', 'bf16');
const mb = Number(opt('mb', '160'));
const rounds = Number(opt('rounds', '40'));
const optsA = JSON.parse(opt('optsA', '{}'));
const optsB = JSON.parse(opt('optsB', '{}'));
const shapes = opt('shapes', '2048x2048,256x2048,5632x2048,2048x5632,768x768,3072x768,768x3072')
  .split(',')
  .map((s) => s.split('x').map(Number));
const wb = kind === 'f32' ? 4 : 2;

// layout per shape: x per thread, out, accumulator scratch per thread, then the W copies
const plan = [];
let top = 0;
for (const [n, k] of shapes) {
  const wBytes = n * k * wb;
  const copies = Math.max(1, Math.ceil((mb << 20) / wBytes));
  const p = { n, k, threads, copies, wBytes, ldw: k * wb, xStride: k * 4 + 64 };
  p.accStride = n * 64 + 64;
  p.x = 0;
  p.out = p.x + threads * p.xStride;
  p.acc = p.out + n * 4 + 64;
  p.w = (p.acc + threads * p.accStride + 63) & ~63;
  top = Math.max(top, p.w + copies * wBytes);
  plan.push(p);
}
const mem = new WebAssembly.Memory({ initial: Math.ceil(top / 65536), maximum: 65536, shared: true });
const dots = await kernels(mem, base, kind, optsA, optsB);
const ctl = new SharedArrayBuffer(16);
const c = new Int32Array(ctl);
const workers = [];
for (let t = 1; t < threads; t++) {
  const w = new Worker(new URL(import.meta.url), {
    workerData: { mem, ctl, base, bDist, kind, optsA, optsB, plan, t },
  });
  await new Promise((res) => w.once('message', res));
  workers.push(w);
}
function pass(v, si) {
  c[2] = v;
  c[3] = si;
  Atomics.store(c, 1, 0);
  Atomics.add(c, 0, 1);
  Atomics.notify(c, 0);
  runShare(dots[v], plan[si], 0, [optsA, optsB][v]);
  for (;;) {
    const d = Atomics.load(c, 1);
    if (d >= threads - 1) break;
    Atomics.wait(c, 1, d);
  }
}

console.log(`node ${process.version}, ${kind}, ${threads} threads, ${mb} MB of weights per shape, ${rounds} rounds`);
console.log(`A: ${base} ${JSON.stringify(optsA)}  B: ${bDist} ${JSON.stringify(optsB)}`);
console.log(
  '     [out, in]  copies   A Gw/s   B Gw/s    B/A   (B/A: median of pairs (quartiles); best pass each; Gw/s: best)',
);
const u8 = new Uint8Array(mem.buffer);
const f32 = new Float32Array(mem.buffer);
const ratios = [];
for (const [si, p] of plan.entries()) {
  // random normal-range weights (no subnormal products: they would time the CPU's slow path), x random
  const u16 = new Uint16Array(mem.buffer);
  const tmp = new Float32Array(1);
  const tmpBits = new Uint32Array(tmp.buffer);
  const half = (i) => {
    tmp[0] = (Math.random() - 0.5) * 0.1;
    if (kind === 'bf16') return tmpBits[0] >>> 16;
    return ((i & 1) << 15) | ((8 + ((Math.random() * 8) | 0)) << 10) | ((Math.random() * 1024) | 0); // f16
  };
  if (kind === 'f32')
    for (let i = p.w / 4; i < (p.w + p.copies * p.wBytes) / 4; i++) f32[i] = (Math.random() - 0.5) * 0.1;
  else {
    for (let i = p.w / 2; i < p.w / 2 + p.n * p.k; i++) u16[i] = half(i);
    for (let c = 1; c < p.copies; c++) u8.copyWithin(p.w + c * p.wBytes, p.w, p.w + p.wBytes);
  }
  for (let i = 0; i < p.k; i++) f32[p.x / 4 + i] = Math.random() - 0.5;
  for (let t = 1; t < threads; t++) u8.copyWithin(p.x + t * p.xStride, p.x, p.x + 4 * p.k);
  const outs = [0, 1].map((v) => {
    pass(v, si);
    return u8.slice(p.out, p.out + 4 * p.n);
  });
  if (!Buffer.from(outs[0]).equals(Buffer.from(outs[1]))) throw new Error(`[${p.n}, ${p.k}]: A and B differ`);
  // warm-up (V8 first runs a module's code from its baseline compiler, then tiers up)
  for (const v of [0, 1]) for (let t0 = performance.now(); performance.now() - t0 < 300; ) pass(v, si);
  // pairs of passes, the order alternating: each pair ran under the same load
  const ms = [[], []];
  for (let r = 0; r < rounds; r++)
    for (const v of r % 2 ? [1, 0] : [0, 1]) {
      const t = performance.now();
      pass(v, si);
      ms[v].push(performance.now() - t);
    }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const gw = (t) => (p.n * p.k * p.copies) / t / 1e6;
  const ratio = med(ms[0].map((a, i) => a / ms[1][i]));
  const best = ms.map((m) => Math.min(...m));
  const q = (v) => [...ms[0].map((a, i) => a / ms[1][i])].sort((x, y) => x - y)[Math.floor(v * (rounds - 1))];
  ratios.push(ratio);
  console.log(
    `${`[${p.n}, ${p.k}]`.padStart(14)} ${String(p.copies).padStart(7)} ${gw(best[0]).toFixed(2).padStart(8)} ${gw(best[1]).toFixed(2).padStart(8)} ${ratio.toFixed(3).padStart(6)}   (${q(0.25).toFixed(2)}-${q(0.75).toFixed(2)}; best ${(best[0] / best[1]).toFixed(3)})`,
  );
}
console.log(`geometric mean B/A: ${Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length).toFixed(3)}`);
c[2] = -1;
Atomics.add(c, 0, 1);
Atomics.notify(c, 0);
