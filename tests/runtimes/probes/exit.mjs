// Uses the worker pool and returns without shutdownPool(): the process must still exit on its own (Node and
// Bun unref their workers; on Deno the pool stops its Web Workers after a second without work).
import { linear, poolInfo, setThreads, Tensor, warmPool } from '@stade/tensor';

setThreads(2);
await warmPool();
const x = Tensor.zeros([256, 512]); // [tokens, in]
const w = Tensor.zeros([512, 512]); // [out, in]
x.data.fill(0.5);
w.data.fill(0.25);
const y = linear(x, w);
console.log(JSON.stringify({ y0: y.data[0], pool: poolInfo() }));
