// A runtime-neutral subset of @stade/tensor's property tests, run by every runtime (Node, Bun, Deno) on the
// built package: matmul / linear (WebAssembly SIMD, relaxed-SIMD FMA where the runtime validates it, and the
// plain-JS kernels) and reductions against float64 references with the tensor tests' tolerances, and 1 vs 2
// worker threads bit for bit. Prints one JSON line: the runtime's features, each property's outcome, and a
// digest of fixed computations (equal across runtimes with the same kernel choice).
import {
  getBackend,
  linear,
  matmul,
  poolInfo,
  relaxedSimdSupported,
  setBackend,
  setThreads,
  shutdownPool,
  simdSupported,
  sum,
  Tensor,
  variance,
  warmPool,
} from '@stade/tensor';
import { arbTensor, expectClose, fillRandn, mulberry32 } from '@stade/tensor/testing';
import fc from 'fast-check';

/** fp32 tolerance for a length-k dot product of O(1) values (as in packages/tensor/src/ops/matmul.test.ts). */
const tol = (k) => ({ rtol: 1e-4, atol: 2e-6 * (k + 4) });

/** float64 reference of a [m, k] x [k, n] product, or x W^T + b for `linear` (w: [n, k]). */
function refProduct(a, b, m, k, n, bTransposed, bias) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * (bTransposed ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = s;
    }
  }
  return out;
}

const randTensor = (shape, seed) => {
  const t = Tensor.zeros(shape);
  fillRandn(t.data, mulberry32(seed));
  return t;
};

const dims = fc.tuple(
  fc.integer({ min: 1, max: 70 }),
  fc.integer({ min: 1, max: 300 }),
  fc.integer({ min: 1, max: 70 }),
);
const opts = (seed) => ({ seed, numRuns: 40 });

const properties = {
  'matmul = float64 reference': () =>
    fc.assert(
      fc.property(
        dims.chain(([m, k, n]) => fc.tuple(arbTensor([m, k]), arbTensor([k, n]))),
        ([a, b]) => {
          const [m, k] = a.shape;
          const n = b.shape[1];
          expectClose(matmul(a, b), refProduct(a.data, b.data, m, k, n, false), tol(k));
        },
      ),
      opts(1),
    ),
  'linear (x W^T + b) = float64 reference': () =>
    fc.assert(
      fc.property(
        dims.chain(([m, k, n]) => fc.tuple(arbTensor([m, k]), arbTensor([n, k]), arbTensor([n]))),
        ([x, w, b]) => {
          const [m, k] = x.shape;
          const n = w.shape[0];
          expectClose(linear(x, w, b), refProduct(x.data, w.data, m, k, n, true, b.data), tol(k));
        },
      ),
      opts(2),
    ),
  'decode-shaped linear (one row) = float64 reference': () =>
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 90 }))
          .chain(([k, n]) => fc.tuple(arbTensor([1, k]), arbTensor([n, k]))),
        ([x, w]) => {
          const k = x.shape[1];
          expectClose(linear(x, w), refProduct(x.data, w.data, 1, k, w.shape[0], true), tol(k));
        },
      ),
      opts(3),
    ),
  'sum and variance = float64 reference': () =>
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 2, max: 200 }))
          .chain(([r, c]) => arbTensor([r, c])),
        (x) => {
          const [r, c] = x.shape;
          const s = new Float64Array(r);
          const v = new Float64Array(r);
          for (let i = 0; i < r; i++) {
            let acc = 0;
            for (let j = 0; j < c; j++) acc += x.data[i * c + j];
            s[i] = acc;
            let q = 0;
            for (let j = 0; j < c; j++) q += (x.data[i * c + j] - acc / c) ** 2;
            v[i] = q / (c - 1);
          }
          expectClose(sum(x, 1), s, { rtol: 1e-4, atol: 2e-6 * (c + 4) });
          expectClose(variance(x, 1), v, { rtol: 1e-4, atol: 1e-5 });
        },
      ),
      opts(4),
    ),
};

/** FNV-1a over the float32 bits of the tensors. */
function digest(tensors) {
  let h = 0x811c9dc5;
  for (const t of tensors) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Large enough for the pool to split: a prefill-shaped linear and a decode-shaped one. */
function fixedWork() {
  const x = randTensor([192, 320], 11); // [tokens, in]
  const w = randTensor([288, 320], 12); // [out, in]
  const b = randTensor([288], 13);
  return [linear(x, w, b), linear(randTensor([1, 320], 14), w), matmul(x, randTensor([320, 96], 15))];
}

const results = [];
const run = (name, fn) => {
  try {
    fn();
    results.push({ name, ok: true });
  } catch (e) {
    results.push({ name, ok: false, error: String(e?.message ?? e).slice(0, 2000) });
  }
};

const backends = simdSupported() ? ['wasm', 'js'] : ['js'];
for (const backend of backends) {
  setBackend(backend);
  setThreads(1);
  for (const [name, fn] of Object.entries(properties)) run(`${backend}: ${name}`, fn);
}
setBackend('auto');
const digests = {};
for (const threads of [1, 2]) {
  setThreads(threads);
  await warmPool(); // so the second thread is a running worker, not the caller taking its chunk
  digests[threads] = digest(fixedWork());
}
run('1 and 2 threads give the same bits', () => {
  if (digests[1] !== digests[2]) throw new Error(`digest ${digests[1]} with 1 thread, ${digests[2]} with 2`);
});
const pool = poolInfo();
run('the pool really ran work on a worker', () => {
  if (!(pool.readyWorkers >= 1 && pool.parallelCalls > 0))
    throw new Error(`pool did not run in parallel: ${JSON.stringify(pool)}`);
});
await shutdownPool();
console.log(
  JSON.stringify({
    simd: simdSupported(),
    relaxed: relaxedSimdSupported(),
    backend: getBackend(),
    pool,
    digest: digests[1],
    results,
  }),
);
