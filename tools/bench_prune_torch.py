#!/usr/bin/python3
"""PyTorch side of the prune pipeline benchmark (issue 4, "Speed"): the same sequential pipeline as
tools/ref_prune.py (float64 statistics, Hessian and SparseGPT, float32 model) on a random OPT-125M-shaped model,
seconds per block and in total for 1 and 2 threads. Compare with `node packages/prune/dist/bench/main.js` run with
the same --windows/--seqlen/--blocks in the same session.

    /usr/bin/python3 tools/bench_prune_torch.py [--windows 16] [--seqlen 512] [--blocks 12] [--threads 1,2]
        [--methods wanda,stade,sparsegpt]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import ref_prune as rp  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--methods", default="wanda,stade,sparsegpt")
    args = ap.parse_args()
    cfg = dict(mf.OPT_BASE, vocab_size=50272, hidden_size=768, word_embed_proj_dim=768, ffn_dim=3072,
               num_attention_heads=12, num_hidden_layers=args.blocks, max_position_embeddings=2048,
               do_layer_norm_before=True)
    g = torch.Generator().manual_seed(7)
    windows = torch.randint(0, cfg["vocab_size"], (args.windows, args.seqlen), generator=g)
    for t in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(t)
        for method in args.methods.split(","):
            torch.manual_seed(1)
            model = mf.OPT(cfg)
            model.eval()
            t0 = time.perf_counter()
            c0 = time.process_time()
            rp.prune_model(cfg, model, windows, method, "unstructured")
            sec = time.perf_counter() - t0
            cpu = time.process_time() - c0
            print(f"torch prune {method} [{t} thread(s)] {args.windows}x{args.seqlen} tokens, {args.blocks} blocks: "
                  f"{sec:.1f} s total, {sec / args.blocks:.2f} s/block, {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
