#!/usr/bin/python3
"""Reference figures of `stade analyze` for @stade/prune's golden test (dev-only).

On the transformer fixture models (tools/make_fixtures.py), with the model code and mask rules of tools/ref_prune.py,
computes per linear layer, from its dense inputs over `contiguous` calibration windows of fixed token ids:
  - noncentred = mean_j mean(x_j)^2 / E[x_j^2] (columns with E[x_j^2] = 0 count 0); the input mean's norm;
  - outlierShare = OWL's measure for the layer alone: share of float32(|W_ij| sqrt(sumsq_j / S)) above 5x their mean;
  - the Wanda and STADE masks (scores rounded to float32, stable sort) and, per output and token,
    predicted diag = sum_{pruned} W^2 E[x^2] (wanda) or W^2 Var(x) (stade, population variance),
    cross = mean ||(X or X - mean) D^T||^2 - diag, with D the pruned part of W (computed from X directly);
  - measured = MSE between the dense layer's output and the pruned one's (STADE with its bias correction) on the
    dense inputs of further held-out windows;
and per block (every layer pruned with wanda, stade or stadew, on the dense held-out inputs) the mean over tokens of
||dense_t - pruned_t||^2 / ||dense_t||^2 of the block output. Statistics in float64; the models run in float32.

Usage (from the repository root, Debian's python3-torch):  /usr/bin/python3 tools/ref_analyze.py
Writes packages/prune/test/fixtures/analyze/<model>.json.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_prune as rp  # noqa: E402

torch.set_num_threads(1)

MODELS = ["opt-pre", "llama-gqa"]
NSAMPLES, HELDOUT, SEQLEN = 8, 4, 32
TARGETS = [("unstructured", 0.5), ("2:4", 0.5), ("unstructured", 0.7)]


def capture(cfg, model, layer, run, hs):
    """Runs `layer` over hs with hooks; returns (inputs per local linear name as float64 [N, in], outputs)."""
    subset = rp.linears(layer)
    inputs = {n: [] for n, _ in subset}
    hooks = [m.register_forward_hook(lambda mod, inp, o, n=n: inputs[n].append(inp[0].detach().clone()))
             for n, m in subset]
    outs = [run(layer, h) for h in hs]
    for hk in hooks:
        hk.remove()
    return {n: torch.cat(v).to(torch.float64) for n, v in inputs.items()}, outs


def masks_for(W, X, S, pattern, sparsity):
    nm = None if pattern == "unstructured" else tuple(int(x) for x in pattern.split(":"))
    W64 = W.to(torch.float64)
    wanda = W64.abs() * torch.sqrt((X ** 2).sum(0) / S).reshape(1, -1)
    stade = W64 ** 2 * X.var(0, unbiased=True).reshape(1, -1)
    return (rp.score_mask(wanda.to(torch.float32), sparsity, nm), rp.score_mask(stade.to(torch.float32), sparsity, nm))


def layer_figures(W, X, S, mw, ms):
    N = X.shape[0]
    out = W.shape[0]
    W64 = W.to(torch.float64)
    mean = X.mean(0)
    e2 = (X ** 2).mean(0)
    var = ((X - mean) ** 2).mean(0)
    nc = torch.where(e2 > 0, mean ** 2 / torch.where(e2 > 0, e2, torch.ones_like(e2)), torch.zeros_like(e2))
    a = (W64.abs() * torch.sqrt((X ** 2).sum(0) / S)).to(torch.float32).to(torch.float64)
    share = float((a > a.mean() * 5).sum()) / a.numel()
    Dw = W64 * mw.to(torch.float64)
    Ds = W64 * ms.to(torch.float64)
    diag_w = float(((Dw ** 2) * e2).sum() / out)
    diag_s = float(((Ds ** 2) * var).sum() / out)
    full_w = float(((X @ Dw.T) ** 2).sum() / (N * out))
    full_s = float((((X - mean) @ Ds.T) ** 2).sum() / (N * out))
    return {
        "noncentred": float(nc.mean()),
        "meanNorm": float(mean.norm()),
        "outlierShare": share,
        "predicted": {"wanda": {"diag": diag_w, "cross": full_w - diag_w},
                      "stade": {"diag": diag_s, "cross": full_s - diag_s}},
    }


def pruned_weights(lin, X, mw, ms):
    """(weight, bias) of wanda and stade (bias corrected before zeroing), float32 like the model."""
    W = lin.weight.data
    mean = X.mean(0)
    Ww = W.clone()
    Ww[mw] = 0
    corr = (W.to(torch.float64) * ms.to(torch.float64)) @ mean
    b = corr if lin.bias is None else lin.bias.data.to(torch.float64) + corr
    Ws = W.clone()
    Ws[ms] = 0
    return {"wanda": (Ww, None if lin.bias is None else lin.bias.data.clone()), "stade": (Ws, b.to(torch.float32))}


def mse(a, b):
    return float(((a.to(torch.float64) - b.to(torch.float64)) ** 2).mean())


def relative(dense, pruned):
    d = dense.to(torch.float64)
    p = pruned.to(torch.float64)
    den = (d ** 2).sum(-1)
    num = ((d - p) ** 2).sum(-1)
    keep = den > 0
    return float((num[keep] / den[keep]).mean())


def analyze(cfg, model, calib, held, pattern, sparsity):
    run = rp.block_fn(cfg, model, SEQLEN)
    layers, blocks = [], []
    with torch.no_grad():
        hc = [rp.embed(cfg, model, w) for w in calib]
        hh = [rp.embed(cfg, model, w) for w in held]
        for i, layer in enumerate(model.layers):
            xc, hc = capture(cfg, model, layer, run, hc)
            xh, dense_out = capture(cfg, model, layer, run, hh)
            pruned = {}
            for local, lin in rp.linears(layer):
                name = rp.prefix(cfg, i) + local
                mw, ms = masks_for(lin.weight.data, xc[local], len(calib), pattern, sparsity)
                f = layer_figures(lin.weight.data, xc[local], len(calib), mw, ms)
                p = pruned_weights(lin, xc[local], mw, ms)
                pruned[local] = p
                Xh = xh[local].to(torch.float32)
                yd = torch.nn.functional.linear(Xh, lin.weight.data, lin.bias)
                f["measured"] = {m: mse(yd, torch.nn.functional.linear(Xh, p[m][0], p[m][1])) for m in ("wanda", "stade")}
                f["name"] = name
                layers.append(f)
            rel = {}
            for method in ("wanda", "stade", "stadew"):
                saved = {}
                for local, lin in rp.linears(layer):
                    eff = method if method != "stadew" else ("stade" if local in rp.STADEW_STADE else "wanda")
                    saved[local] = (lin.weight.data, lin.bias)
                    w, b = pruned[local][eff]
                    lin.weight.data = w
                    lin.bias = None if b is None else torch.nn.Parameter(b, requires_grad=False)
                outs = [run(layer, h) for h in hh]
                rel[method] = relative(torch.cat(dense_out), torch.cat(outs))
                for local, lin in rp.linears(layer):
                    lin.weight.data, lin.bias = saved[local]
            blocks.append({"index": i, "relative": rel})
            hh = dense_out
    return {"pattern": pattern, "sparsity": sparsity, "layers": layers, "blocks": blocks}


def main():
    root = "packages/transformer/test/fixtures"
    od = "packages/prune/test/fixtures/analyze"
    os.makedirs(od, exist_ok=True)
    for name in MODELS:
        folder = os.path.join(root, name)
        cfg, model = rp.load_model(folder)
        g = torch.Generator().manual_seed(2025)
        ids = torch.randint(0, cfg["vocab_size"], ((NSAMPLES + HELDOUT) * SEQLEN,), generator=g)
        windows = ids.reshape(NSAMPLES + HELDOUT, SEQLEN)  # contiguous sampling
        runs = [analyze(cfg, model, windows[:NSAMPLES], windows[NSAMPLES:], p, s) for p, s in TARGETS]
        ref = {
            "generator": "tools/ref_analyze.py",
            "torch_version": torch.__version__,
            "model": f"packages/transformer/test/fixtures/{name}",
            "calibration": {"sampling": "contiguous", "nsamples": NSAMPLES, "heldout": HELDOUT, "seqlen": SEQLEN,
                            "ids": ids.tolist()},
            "runs": runs,
        }
        path = os.path.join(od, f"{name}.json")
        with open(path, "w") as f:
            json.dump(ref, f)
            f.write("\n")
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
