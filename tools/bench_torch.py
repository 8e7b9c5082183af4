#!/usr/bin/env python3
"""Times torch's linear (addmm into a preallocated output) on the engine benchmark's shapes (dev-only).

Prints one JSON object per line, {op, shape, threads, kernel: "torch", gflops, ms}, in the format
`npm run bench -- --compare FILE` reads to add a ratio column:

    /usr/bin/python3 tools/bench_torch.py > /tmp/torch.jsonl
    npm run bench -- --compare /tmp/torch.jsonl

The thread count is set explicitly with torch.set_num_threads (Debian's torch may start with one).
Like the engine's cases, the output is preallocated (torch.addmm(b, x, w.t(), out=y) is what
F.linear computes), so first-touch page faults of fresh outputs are not timed on either side.
"""
import argparse
import json
import time

import torch

# (m, k, n): x [m, k] by W [n, k], as in packages/tensor/src/bench/matmul_cases.ts
CASES = [(2048, 768, 768), (2048, 768, 3072), (2048, 3072, 768), (512, 2048, 5632), (1, 768, 3072)]


def time_it(fn, min_s):
    fn()
    best = float("inf")
    reps = 0
    start = time.perf_counter()
    while reps < 2 or time.perf_counter() - start < min_s:
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        reps += 1
    return best, reps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--quick", action="store_true", help="shorter timing")
    args = ap.parse_args()
    torch.manual_seed(0)
    for m, k, n in CASES:
        x = torch.randn(m, k)
        w = torch.randn(n, k) * 0.05
        b = torch.randn(n)
        y = torch.empty(m, n)
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            min_s = (0.3 if m == 1 else 1.0) * (0.2 if args.quick else 1.0)
            with torch.no_grad():
                best, reps = time_it(lambda: torch.addmm(b, x, w.t(), out=y), min_s)
            print(json.dumps({
                "op": "linear", "shape": f"{m}x{k} by {n}x{k}", "threads": threads, "kernel": "torch",
                "gflops": round(2 * m * n * k / best / 1e9, 3), "ms": round(best * 1e3, 4), "reps": reps,
            }), flush=True)


if __name__ == "__main__":
    main()
