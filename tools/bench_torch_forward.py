#!/usr/bin/python3
"""Times PyTorch's forward pass of the random OPT-125M-shaped model that stade's prefill bench uses (dev-only).

Prints one JSON object per line in the format `npm run bench -- --compare FILE` reads:
{op: "prefill", shape, threads, kernel: "torch", gflops, ms, tokens_per_s}; with --ppl-windows N also the wall time
of N perplexity windows (op "perplexity"). The model is the eager OPT of tools/make_fixtures.py (mirroring
modeling_opt.py) with random weights; torch.set_num_threads is set explicitly for each count.

    /usr/bin/python3 tools/bench_torch_forward.py > /tmp/torch-prefill.jsonl
    npm run bench -- --with packages/transformer/dist/bench/cases.js --filter prefill --compare /tmp/torch-prefill.jsonl
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import OPT  # noqa: E402

CONFIG = dict(model_type="opt", vocab_size=50272, hidden_size=768, word_embed_proj_dim=768, ffn_dim=3072,
              num_attention_heads=12, num_hidden_layers=12, max_position_embeddings=2048,
              do_layer_norm_before=True, enable_bias=True)


def forward_flops(c, T):
    h, f, L, V = c["hidden_size"], c["ffn_dim"], c["num_hidden_layers"], c["vocab_size"]
    return L * (2 * T * (4 * h * h + 2 * h * f) + 4 * T * T * h) + 2 * T * h * V


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--ppl-windows", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = OPT(CONFIG).eval()
    with torch.no_grad():  # the same ranges as randomOptModel in packages/transformer/src/bench/prefill.ts
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif "embed" in name:
                p.uniform_(-0.1, 0.1)
            elif name.endswith("bias"):
                p.uniform_(-0.01, 0.01)
            else:
                s = (3.0 / p.shape[1]) ** 0.5
                p.uniform_(-s, s)
    T = args.seqlen
    ids = torch.randint(0, CONFIG["vocab_size"], (T,))
    shape = f"opt-125m-shaped seqlen {T}"
    with torch.no_grad():
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            model(ids[:16])
            best = cpu = float("inf")
            for _ in range(args.reps):
                c0 = time.process_time()  # CPU seconds of all threads: steadier than wall time on a busy machine
                t0 = time.perf_counter()
                model(ids)
                best = min(best, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
            print(json.dumps({"op": "prefill", "shape": shape, "threads": threads, "kernel": "torch",
                              "gflops": forward_flops(CONFIG, T) / best / 1e9, "ms": best * 1e3,
                              "tokens_per_s": T / best, "cpu_seconds": cpu}), flush=True)
            if args.ppl_windows:
                n = args.ppl_windows
                data = torch.randint(0, CONFIG["vocab_size"], (n * T,))
                t0 = time.perf_counter()
                nll = 0.0
                for w in range(n):
                    x = data[w * T:(w + 1) * T]
                    nll += float(F.cross_entropy(model(x)[:-1].double(), x[1:])) * T
                s = time.perf_counter() - t0
                print(json.dumps({"op": "perplexity", "shape": f"{n} x {T}", "threads": threads, "kernel": "torch",
                                  "seconds": s, "ppl": float(torch.exp(torch.tensor(nll / (n * T))))}), flush=True)


if __name__ == "__main__":
    main()
