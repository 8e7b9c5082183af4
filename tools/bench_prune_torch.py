#!/usr/bin/python3
"""PyTorch side of the prune pipeline benchmark (issue 4, "Speed"): the same sequential pipeline as
tools/ref_prune.py (float64 statistics, Hessian and SparseGPT, float32 model) on a random OPT-125M-shaped model,
seconds per block and in total for 1 and 2 threads. Compare with `node packages/prune/dist/bench/main.js` run with
the same --windows/--seqlen/--blocks in the same session.

    /usr/bin/python3 tools/bench_prune_torch.py [--windows 16] [--seqlen 512] [--blocks 12] [--threads 1,2]
        [--methods wanda,stade,sparsegpt]

Per-layer SparseGPT (issue 9.5) with --layers OUTxIN[,OUTxIN...]: one linear layer with random weights and
--windows random calibration windows of --seqlen tokens, SparseGPT in float32 exactly as the original code runs
it (add_batch's running float32 Hessian, fasterprune's float32 Cholesky / cholesky_inverse / upper Cholesky and
blocked sweep, blocksize 128, 50% unstructured); prints one JSON line per shape and thread count with the
seconds of the Hessian and of the pruning (best of --reps). tools/bench_sparsegpt.mjs runs this next to stade.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import ref_prune as rp  # noqa: E402


def add_batch_f32(H, nsamples, inp):
    """SparseGPT's add_batch for one window [tokens, cols] (float32, the running mean of 2 X^T X)."""
    inp = inp.t()
    H *= nsamples / (nsamples + 1)
    nsamples += 1
    inp = math.sqrt(2 / nsamples) * inp.float()
    H += inp.matmul(inp.t())
    return nsamples


def fasterprune_f32(W, H, sparsity, blocksize=128, percdamp=0.01):
    """SparseGPT's fasterprune (unstructured), float32 as the original code runs it."""
    W = W.clone().float()
    rows, cols = W.shape
    H = H.clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    Losses = torch.zeros(rows)
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(cols)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    H = torch.linalg.cholesky(H, upper=True)
    Hinv = H
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Losses1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
        thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
        mask1 = tmp <= thresh
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            Losses1[:, i] = (w - q) ** 2 / d ** 2
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        Losses += torch.sum(Losses1, 1) / 2
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W


def bench_layers(args):
    for t in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(t)
        for shape in args.layers.split(","):
            rows, cols = (int(v) for v in shape.split("x"))
            g = torch.Generator().manual_seed(3)
            W = torch.rand(rows, cols, generator=g) * 2 - 1
            xs = [torch.randn(args.seqlen, cols, generator=g) for _ in range(args.windows)]
            best = None
            for _ in range(args.reps):
                c0, t0 = time.process_time(), time.perf_counter()
                H = torch.zeros(cols, cols)
                ns = 0
                for x in xs:
                    ns = add_batch_f32(H, ns, x)
                t1 = time.perf_counter()
                fasterprune_f32(W, H, 0.5)
                t2 = time.perf_counter()
                r = {"hessian": t1 - t0, "prune": t2 - t1, "total": t2 - t0, "cpuSeconds": time.process_time() - c0}
                if best is None or r["total"] < best["total"]:
                    best = r
            print(json.dumps({"impl": "torch-f32", "rows": rows, "cols": cols, "threads": t, "windows": args.windows,
                              "seqlen": args.seqlen, **best}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--methods", default="wanda,stade,sparsegpt")
    ap.add_argument("--layers", default="", help="per-layer SparseGPT shapes OUTxIN,... (see above)")
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    if args.layers:
        bench_layers(args)
        return
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
