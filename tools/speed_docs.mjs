// docs/speed.md for tools/bench_pruned_speed.mjs: the text (what the formats and kernels are, regenerated from the
// code's constants) and one measured section per shape, replaced in place when that shape is measured again.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const begin = (shape) => `<!-- measured:${shape} -->`;
const end = (shape) => `<!-- /measured:${shape} -->`;

/** The measured sections already in `file`, by shape. */
function sections(file) {
  const out = new Map();
  if (!existsSync(file)) return out;
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/<!-- measured:([\w.-]+) -->[\s\S]*?<!-- \/measured:\1 -->/g)) out.set(m[1], m[0]);
  return out;
}

function intro({ autoMin, autoMinInputs }) {
  return `# Speed of pruned models

Pruning is meant to make a model cheaper to run. \`stade bench\` and \`stade generate\` show it on the same machine:
the weights of every linear layer are put, at load time, in the format that runs fastest (\`--weights auto\`, or
forced with \`--weights dense|f16|sparse\`):

- **dense float32** (\`dense\`): 4 bytes per weight;
- **dense 16-bit** (\`f16\`): F16/BF16 checkpoints stay 16-bit and are widened inside the kernels (2 bytes per
  weight); a float32 checkpoint is rounded to f16;
- **2:4** (\`sparse\`, or \`auto\` on a 2:4-pruned layer): the two kept values of every group of four; one metadata
  byte per 8 inputs says where their 4 kept inputs sit (1.125 bytes per weight with 16-bit values);
- **unstructured sparse** (\`sparse\`, or \`auto\` from ${autoMin * 100}% zeros on, counted as a row pruned to ${autoMin * 100}% holds them:
  floor(${autoMin} × inputs)): the kept values in pairs, each pair with a
  16-bit word that locates its two inputs, per block of 512 inputs (with pads about 3.1-3.4 bytes per kept 16-bit
  value: 1.63 bytes per weight at 50%, 1.03 at 70%).

All of them are held in the *resident arenas*: shared WebAssembly memories that every worker thread's decode
kernels import, so a matrix-vector product reads the weight in place instead of block-copying it into each
thread's own memory on every call (that copy doubled the memory traffic of decode). wasm32 caps one memory at
4 GiB, so a larger model opens more arenas as they fill (up to 16, 64 GiB; a 7B model's 13.5 GB of bf16 weights
take four); a weight lives in one arena and a kernel call runs the thread's instance made over it (a pool worker
knows an arena by the id in its header, so one sent to it again as a new object keeps its one scratch region and
instance). Weights are
packed or converted from their stored bits straight into an arena (no float32 copy on the way: loading the 1.1B
shape's 2:4 model peaks at about 1.6 GB), and an untied language-model head is read into one; a head tied to the
embeddings (OPT) is copied there on first use (so it is held twice). During decode the pool's workers poll for work for 2 ms before
sleeping, since a futex wake-up costs more than one decode chunk (that polling counts as CPU time in the tables
below); on Node a job reaches a polling worker through shared memory (a header per worker and one argument
record), not as a message, and the layers that share an input (q/k/v; Llama's gate and up) run as one split,
dense or packed (one x table per thread for a packed group); a packed call builds its kernel arguments once
(a copy per call used to cost about 20 µs and slowed every young garbage collection).
The KV cache lives in the resident arena too (sized to the run's positions, its pages touched when it is made:
a step writing new keys into untouched pages took the page faults, tens of µs each on this VM), and a decode step's attention runs every head in one WebAssembly
SIMD call that reads the cache in place (\`decodeAttention\`; GQA and sliding windows included; heads split across
threads when the work is worth it: from ~40 µs while the workers still poll after a split, as in every decode step); before, each head ran two general matmuls through the pool, which cost OPT-125M's
shape about a quarter of a decode step. Kernels: the dense ones stream one W row at a time (four f32x4 chains; bf16 widened from one 16-byte load
by a shift for the even and a mask for the odd weights, x staged in the matching order so that every sum keeps
its order). Resident 16-bit weights with rows of 4096 inputs or more are stored in k blocks of 2048 inputs (all
rows' block 0, then block 1, ...) and decoded one block at a time, each row's four chains parked between blocks
(same sums, same bits): the block's float32 x stays in L1 beside the streamed W, where a whole row's x (22 KB at
k = 5632) did not; the 1.1B shape's down_proj runs 1.39-1.43x (1 thread) and 1.23-1.43x (2 threads) faster, a
whole step's linear layers 1.10-1.11x and 1.04-1.13x (\`node tools/bench_decode_step.mjs --formats bf16-rm,bf16
--ref bf16-rm\`, both orders, 60 steps). 2:4 decode reads, per 8 inputs, one metadata byte that is directly the byte offset of
the slot's 4 kept inputs in a small per-call table of x (for every 8 inputs 11 floats in an order where every pair
of pair codes appears as 4 consecutive entries: one 16-byte load gathers them); 16-bit values interleave the two
slots of every 16 inputs, so one 16-byte load widens to both slots with a shift and a mask; a 256-input block is
unrolled and 4 slots are summed before each accumulator add. The format holds blocks of 256 inputs one after
another (each row after row), and decode passes over one block at a time so that its x table stays in L1.
Unstructured decode works the same way on pairs: a pair's 16-bit word is the offset of its two inputs in a per-call
table (one 64-bit load gathers both), per block of 512 inputs. WebAssembly SIMD has no gather instruction; these
tables give one load per 4 (2:4) or 2 (unstructured) kept weights instead. A bitmask format (one mask byte per 8
inputs, kept values contiguous, expanded by \`i8x16.swizzle\` through a 256-entry table straight into float32 lanes)
reads fewer bytes (0.125 + 2 x density per weight) but costs about 17 instructions per 8 inputs whether they are
kept or not: measured against the pair format on every OPT-125M and 1.1B layer shape, weights from DRAM, it ran at
0.34-0.62x of dense bf16 where pairs ran at 0.60-1.18x (50%) and 0.72-2.17x (70%), so the pairs stay. Per layer, by
the median call with weights streamed from DRAM (\`node tools/bench_decode_packed.mjs --dram-mb 300 [--threads 1]\`;
\`--stat best\` takes the fastest call, which overstates the packed kernels' lead), 2026-12-01: at 2 threads on the
1.1B shape's layers dense bf16 ran at 2.0x dense f32 (float32 is bound by DRAM), 2:4 at 1.35-1.41x dense bf16, 70%
at 1.54-1.62x and 50% at 1.02-1.07x; on OPT-125M's three layer shapes 2:4 ran at 1.07-1.34x and 70% at
1.07-1.49x. At 1 thread 2:4 and 70% ran at only 1.12-1.28x dense bf16: these kernels are bound by instructions,
not bytes (a 2:4 slot of 8 inputs costs a metadata load, an address add, the gathering x load, half a value load,
a widening, a multiply and an add; dense bf16 spends about as many on 8 inputs), and so is dense bf16 at 1 thread.
Prefill (more than 4 rows) is
compute-bound instead: there the packed kernels run 32 tokens per pass over input-major panels of x, multiply each
kept value with its input's 32 tokens (the pruned half of the multiplies is skipped) and read resident weights in
place; the dense prefill GEMM reads W's rows in place too (no packing of the weight per call). Without a fused
multiply-add in WebAssembly SIMD (relaxed SIMD is off by default in Node 20), skipping half the multiplies gains at
most about 1.5x in the kernel: the dense kernel needs about 26 instructions per 32 multiply-adds, the 2:4 one 66
per 64.

\`auto\` measures every layer as it is loaded: 2:4 when every group of four holds at most two nonzeros, the
unstructured format when at least ${autoMin * 100}% of the weights are zero and the layer has at least
${autoMinInputs} inputs (measured on \`[3072, 768]\` weights: see \`AUTO_SPARSE_MIN\` in packages/transformer/src/generate/weight-format.ts), else the stored dtype
unchanged. The language-model head and the embeddings keep the checkpoint's dtype.

Decode at batch 1 reads every weight once per token, so its speed is bounded by the bytes read: each table gives,
per row, the weight bytes read per token and the speedup over dense float32 that those bytes alone would allow
(the *bytes bound*; the head is never pruned, which caps what pruning can gain on a model whose head is a large
share of its weights, like OPT-125M's 31%).

Regenerate a section with \`npm run build && node tools/bench_pruned_speed.mjs --shape SHAPE --rounds 3
--write-docs\` (SHAPE: \`opt-125m\` or \`llama-1.1b\`; the first run makes the random-weight checkpoints and their
pruned copies under /tmp; PyTorch's row needs Debian's \`python3-torch\`, or pass \`--no-torch\`). Each figure is
measured two ways. *Own processes*: each row runs in its own process (which gives its peak memory), rows
interleaved round by round, each figure the median of its rounds; the tables also give tokens per CPU second of the
process (all its threads). *One process*: the two rows a ratio compares loaded together, taking turns prefill by
prefill and decode step by decode step (\`tools/bench_interleaved.mjs\`, a process per pair; all five rows of the
1.1B shape in one process held 11 GB of weights beside 11 GB of checkpoint pages on this 24 GB machine, and the
unstructured rows ran 2-3x slower than alone). This VM's speed drifts by tens of percent within
minutes (the same 1.1B bf16 decode measured 54 and 78 ms per step in two processes a minute apart), and the
compute-bound formats drift more than the memory-bound float32: ratios of runs minutes apart carry that drift,
ratios of steps taken side by side do not, so the one-process columns are the steadier ones. Compare rows of one
table, never figures of different runs.
`;
}

/**
 * Writes docs/speed.md at `file`: the text, then the measured section of every shape (this one replaced by
 * `section`, which must be wrapped by `measuredSection`).
 */
export function writeSpeedDocs(file, shape, section, consts) {
  const all = sections(file);
  all.set(shape, section);
  const order = ['opt-125m', 'llama-1.1b', ...[...all.keys()].filter((s) => s !== 'opt-125m' && s !== 'llama-1.1b')];
  const body = order
    .filter((s) => all.has(s))
    .map((s) => all.get(s))
    .join('\n\n');
  writeFileSync(
    file,
    `${intro(consts)}
## Measured

${body}

Reproduce one row with \`stade bench --model DIR --weights sparse --json\`, or two models side by side with
\`stade bench --model DENSE --compare PRUNED\`.
`,
  );
}

/** A shape's section with its markers. */
export function measuredSection(shape, text) {
  return `${begin(shape)}\n${text.trim()}\n${end(shape)}`;
}
