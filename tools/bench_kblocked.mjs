// `node tools/bench_kblocked.mjs [--threads 2] [--kind bf16] [--shapes 2048x5632,...] [--kb 1024,2048] [--mb 160]
// [--rounds 30]` (after building packages/tensor): the dense decode kernel (`emitDots`, dots_emit.ts) over W in its
// plain row-major layout (A) against the k-blocked kernel over the same W stored in k blocks of KB inputs (B, one per
// --kb; kblocked.ts), on several copies (`--mb` in total: weights from DRAM, as resident weights are), each thread
// its contiguous share of every copy's rows. Checks A and B give the same bits, then times `rounds` pairs of passes,
// the order alternating, and prints B's speed over A's (median of the pairs, quartiles).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { option } from './bench_best_ms.mjs';

const dist = new URL('../packages/tensor/dist/', import.meta.url).pathname;
const { emitDots, DOTS_FIRST, DOTS_LAST } = await import(`${dist}/wasm/dots_emit.js`);
const { ModuleBuilder } = await import(`${dist}/wasm/emitter.js`);

function kernels(mem, kind) {
  const m = new ModuleBuilder().importSharedMemory('env', 'memory', 1, 65536);
  for (const [name, blocked] of [
    ['plain', false],
    ['blocked', true],
  ]) {
    const d = emitDots({ fma: false, reloadB: false }, kind, blocked);
    m.addFunction(name, d.params, d.results, d.locals, d.code);
  }
  return new WebAssembly.Instance(new WebAssembly.Module(m.build()), { env: { memory: mem } }).exports;
}

/** One pass of variant v (0 plain, else blocked with kbs[v - 1]): thread t's rows of every copy. */
function runShare(f, p, v, t) {
  const x = p.x + t * p.xStride;
  const part = p.part + t * p.partStride;
  const share = Math.ceil(p.n / p.threads / 16) * 16;
  const r0 = Math.min(p.n, t * share);
  const cnt = Math.min(share, p.n - r0);
  if (cnt <= 0) return;
  const { n, k, wb } = p;
  for (let c = 0; c < p.copies; c++) {
    const w = p.w + c * p.wBytes;
    if (v === 0) {
      f.plain(x, w + r0 * k * wb, k, cnt, k * wb, p.out + r0 * 4);
      continue;
    }
    const kb = p.kbs[v - 1];
    for (let b0 = 0; b0 < k; b0 += kb) {
      const bw = Math.min(kb, k - b0);
      const mode = (b0 === 0 ? DOTS_FIRST : 0) | (b0 + bw >= k ? DOTS_LAST : 0);
      f.blocked(x + b0 * 4, w + (n * b0 + r0 * bw) * wb, bw, cnt, bw * wb, p.out + r0 * 4, part, mode);
    }
  }
}

// ctl: [0] generation, [1] done count, [2] variant, [3] shape index
if (!isMainThread) {
  const { mem, ctl, kind, plan, t } = workerData;
  const f = kernels(mem, kind);
  const c = new Int32Array(ctl);
  let gen = 0;
  parentPort.postMessage('ready');
  for (;;) {
    Atomics.wait(c, 0, gen);
    gen = Atomics.load(c, 0);
    if (c[2] < 0) break;
    runShare(f, plan[c[3]], c[2], t);
    Atomics.add(c, 1, 1);
    Atomics.notify(c, 1);
  }
  process.exit(0);
}

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const threads = Number(opt('threads', '2'));
const kind = opt('kind', 'bf16');
const mb = Number(opt('mb', '160'));
const rounds = Number(opt('rounds', '30'));
const kbs = opt('kb', '1024,2048').split(',').map(Number);
const shapes = opt('shapes', '2048x5632,5632x2048,2048x2048,768x3072')
  .split(',')
  .map((s) => s.split('x').map(Number));
const wb = kind === 'f32' ? 4 : 2;
const V = kbs.length + 1;

// per shape: x per thread, out, partial sums per thread, then V layouts' W copies
const plan = [];
let top = 0;
for (const [n, k] of shapes) {
  const wBytes = n * k * wb;
  const copies = Math.max(1, Math.ceil((mb << 20) / wBytes));
  const p = { n, k, wb, threads, copies, wBytes, kbs, xStride: k * 4 + 64, partStride: n * 64 + 64 };
  p.x = 0;
  p.out = p.x + threads * p.xStride;
  p.part = p.out + n * 4 + 64;
  p.w = (p.part + threads * p.partStride + 63) & ~63;
  top = Math.max(top, p.w + copies * wBytes);
  plan.push(p);
}
const mem = new WebAssembly.Memory({ initial: Math.ceil(top / 65536), maximum: 65536, shared: true });
const f = kernels(mem, kind);
const ctl = new SharedArrayBuffer(16);
const c = new Int32Array(ctl);
for (let t = 1; t < threads; t++) {
  const w = new Worker(new URL(import.meta.url), { workerData: { mem, ctl, kind, plan, t } });
  await new Promise((res) => w.once('message', res));
}
function pass(v, si) {
  c[2] = v;
  c[3] = si;
  Atomics.store(c, 1, 0);
  Atomics.add(c, 0, 1);
  Atomics.notify(c, 0);
  runShare(f, plan[si], v, 0);
  for (;;) {
    const d = Atomics.load(c, 1);
    if (d >= threads - 1) break;
    Atomics.wait(c, 1, d);
  }
}

console.log(`node ${process.version}, ${kind}, ${threads} threads, ${mb} MB of weights per shape, ${rounds} rounds`);
console.log(`   [out, in] copies  plain Gw/s  ${kbs.map((kb) => `KB=${kb}: Gw/s  B/A (quartiles)`).join('  ')}`);
const u8 = new Uint8Array(mem.buffer);
const u16 = new Uint16Array(mem.buffer);
const f32 = new Float32Array(mem.buffer);
const src = (p) => (i) => p.w / wb + i; // element index of plain W element i (copy 0)
for (const [si, p] of plan.entries()) {
  const { n, k } = p;
  const tmp = new Float32Array(1);
  const bits = new Uint32Array(tmp.buffer);
  const plainW = kind === 'f32' ? new Float32Array(n * k) : new Uint16Array(n * k);
  for (let i = 0; i < n * k; i++) {
    tmp[0] = (Math.random() - 0.5) * 0.1;
    plainW[i] =
      kind === 'f32'
        ? tmp[0]
        : kind === 'bf16'
          ? bits[0] >>> 16
          : ((i & 1) << 15) | ((8 + ((Math.random() * 8) | 0)) << 10) | ((Math.random() * 1024) | 0);
  }
  const view = kind === 'f32' ? f32 : u16;
  const fill = (kb) => {
    if (!kb) return view.set(plainW, src(p)(0));
    for (let b0 = 0; b0 < k; b0 += kb) {
      const bw = Math.min(kb, k - b0);
      for (let r = 0; r < n; r++) view.set(plainW.subarray(r * k + b0, r * k + b0 + bw), src(p)(n * b0 + r * bw));
    }
  };
  const copyAll = () => {
    for (let cc = 1; cc < p.copies; cc++) u8.copyWithin(p.w + cc * p.wBytes, p.w, p.w + p.wBytes);
  };
  for (let i = 0; i < k; i++) f32[p.x / 4 + i] = Math.random() - 0.5;
  for (let t = 1; t < threads; t++) u8.copyWithin(p.x + t * p.xStride, p.x, p.x + 4 * k);
  // check bits (one copy), then time: all variants share the same memory, so W is refilled per variant per round
  const outs = [];
  for (let v = 0; v < V; v++) {
    fill(v === 0 ? 0 : kbs[v - 1]);
    copyAll();
    pass(v, si);
    outs.push(Buffer.from(u8.slice(p.out, p.out + 4 * n)));
  }
  for (let v = 1; v < V; v++)
    if (!outs[0].equals(outs[v])) {
      const a = new Float32Array(outs[0].buffer.slice(outs[0].byteOffset, outs[0].byteOffset + 4 * n));
      const b = new Float32Array(outs[v].buffer.slice(outs[v].byteOffset, outs[v].byteOffset + 4 * n));
      const bad = [...a.keys()].filter((i) => a[i] !== b[i]);
      throw new Error(
        `[${n}, ${k}] KB=${kbs[v - 1]}: ${bad.length} outputs differ, e.g. ${bad[0]}: ${a[bad[0]]} ${b[bad[0]]}`,
      );
    }
  // time: variant v's layout filled before its passes (a fill costs no time measured)
  const ms = Array.from({ length: V }, () => []);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...Array(V).keys()].reverse() : [...Array(V).keys()];
    for (const v of order) {
      fill(v === 0 ? 0 : kbs[v - 1]);
      copyAll();
      pass(v, si); // warm (JIT) + flush of the refill's cache lines: the timed pass reads the copies from DRAM
      const t0 = performance.now();
      pass(v, si);
      ms[v].push(performance.now() - t0);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const gw = (t) => (n * k * p.copies) / t / 1e6;
  const cols = [];
  for (let v = 1; v < V; v++) {
    const ratios = ms[0].map((a, i) => a / ms[v][i]).sort((x, y) => x - y);
    const q = (x) => ratios[Math.floor(x * (rounds - 1))];
    cols.push(
      `${gw(med(ms[v])).toFixed(2).padStart(6)} ${med(ratios).toFixed(3)} (${q(0.25).toFixed(2)}-${q(0.75).toFixed(2)})`,
    );
  }
  console.log(
    `${`[${n}, ${k}]`.padStart(12)} ${String(p.copies).padStart(5)} ${gw(med(ms[0])).toFixed(2).padStart(10)}  ${cols.join('  ')}`,
  );
}
c[2] = -1;
Atomics.add(c, 0, 1);
Atomics.notify(c, 0);
