#!/usr/bin/python3
"""Reference pruning pipeline for @stade/prune's golden fixtures (dev-only).

Runs the sequential block-by-block pipeline of the public reference code (Wanda, SparseGPT, STADE) with PyTorch on
the transformer fixture models (tools/make_fixtures.py) and writes, per model, the masks, the STADE biases, the
SparseGPT weights and the perplexities under packages/prune/test/fixtures/<model>/.

Semantics followed (written from the reference repositories' behaviour, not copied):
  - calibration: `contiguous` windows of fixed token ids (stored in the fixture); statistics per linear layer from
    its inputs in the current (already pruned) model, block by block; after pruning a block it is rerun to produce
    the next block's inputs.
  - scores: magnitude |W|, wanda |W| sqrt(sumsq/S), stade W^2 var (unbiased), stadew = stade on
    o_proj/down_proj/out_proj/fc2 and wanda elsewhere. Row groups: stable ascending sort, first int(in * s).
    N:M: in each group of M consecutive inputs, the N lowest (stable sort, so ties go to the lower index).
  - STADE's bias correction b_i += sum_{j pruned} W_ij mean_j computed BEFORE zeroing (SPEC 6; the reference repo
    applies it after zeroing, a no-op); layers without a bias get one.
  - SparseGPT: fasterprune (dead columns, percdamp 0.01, upper Cholesky of H^-1 via cholesky / cholesky_inverse /
    cholesky(upper), blocksize 128, threshold at sorted position int(numel * s) with <=, N:M at every M-th column).
Statistics, Hessians and SparseGPT run in float64 (SPEC 3 and 7); the models run in float32. Scores are computed in
float64 and rounded to float32 before sorting, as stade does.

Usage (from the repository root, Debian's python3-torch):  /usr/bin/python3 tools/ref_prune.py
"""
import argparse
import base64
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

torch.set_num_threads(1)

MODELS = ["opt-pre", "llama-gqa"]
NSAMPLES, SEQLEN = 8, 32
EVAL_WINDOWS = 4
RUNS = [(m, p, "row") for p in ["unstructured", "2:4", "4:8"] for m in ["magnitude", "wanda", "stade", "stadew", "sparsegpt"]]
# Extra coverage: the per-layer group (exactly int(out * in * s) lowest, stable) and SparseGPT without the update.
RUNS += [("stade", "unstructured", "layer"), ("wanda", "unstructured", "layer"), ("sparsegpt-noupdate", "unstructured", "row")]
SPARSITY = 0.5
STADEW_STADE = ("self_attn.o_proj", "mlp.down_proj", "self_attn.out_proj", "fc2")


def read_safetensors_f32(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (path, name, info["dtype"])
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").copy()).reshape(info["shape"])
    return out


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    model = mf.OPT(cfg) if cfg["model_type"] == "opt" else mf.Llama(cfg)
    state = read_safetensors_f32(os.path.join(folder, "model.safetensors"))
    own = model.state()  # checkpoint names -> parameters of the module
    missing = set(own) - set(state)
    assert not missing, missing
    with torch.no_grad():
        for k, v in own.items():
            v.copy_(state[k])
    model.eval()
    return cfg, model


def prefix(cfg, i):
    return f"model.decoder.layers.{i}." if cfg["model_type"] == "opt" else f"model.layers.{i}."


def embed(cfg, model, ids):
    if cfg["model_type"] == "opt":
        x = model.embed_tokens(ids)
        if model.project_in is not None:
            x = model.project_in(x)
        return x + model.embed_positions(torch.arange(ids.shape[0]) + 2)
    return model.embed_tokens(ids)


def block_fn(cfg, model, T):
    if cfg["model_type"] == "opt":
        return lambda layer, x: layer(x)
    hd = model.layers[0].hd
    inv = mf.rope_inv_freq(cfg, hd)
    freqs = torch.arange(T).float()[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    return lambda layer, x: layer(x, cos, sin)


def linears(layer):
    return [(n, m) for n, m in layer.named_modules() if isinstance(m, torch.nn.Linear)]


def stable_lowest(metric, k):
    """Indices of the k lowest per row, ties to the lower column (stable sort)."""
    return torch.sort(metric, dim=-1, stable=True)[1][:, :k]


def score_mask(metric, sparsity, nm, group="row"):
    rows, cols = metric.shape
    mask = torch.zeros(rows, cols, dtype=torch.bool)
    if group == "layer":
        flat = torch.sort(metric.flatten(), stable=True)[1][:int(rows * cols * sparsity)]
        mask.view(-1)[flat] = True
    elif nm:
        n, m = nm
        for ii in range(0, cols, m):
            idx = stable_lowest(metric[:, ii:ii + m], n)
            mask.scatter_(1, ii + idx, True)
    else:
        mask.scatter_(1, stable_lowest(metric, int(cols * sparsity)), True)
    return mask


def sparsegpt(W, H, sparsity, nm, blocksize=128, percdamp=0.01, update=True):
    """fasterprune semantics in float64; returns (new weight, mask)."""
    W = W.clone().to(torch.float64)
    H = H.clone()
    rows, cols = W.shape
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    idx = torch.arange(cols)
    H[idx, idx] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)
    full_mask = torch.zeros(rows, cols, dtype=torch.bool)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        if nm is None:
            tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
        else:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if nm is not None and i % nm[1] == 0:
                tmp = W1[:, i:i + nm[1]] ** 2 / (torch.diag(Hinv1)[i:i + nm[1]].reshape((1, -1))) ** 2
                mask1.scatter_(1, i + stable_lowest(tmp, nm[0]), True)
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            if update:
                err1 = (w - q) / d
                W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
                Err1[:, i] = err1
        W[:, i1:i2] = Q1
        if update:
            W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
        full_mask[:, i1:i2] = mask1
    return W.to(torch.float32), full_mask


def prune_model(cfg, model, windows, method, pattern, group="row"):
    nm = None if pattern == "unstructured" else tuple(int(x) for x in pattern.split(":"))
    T = windows.shape[1]
    run = block_fn(cfg, model, T)
    out = {"masks": {}, "biases": {}, "weights": {}}
    with torch.no_grad():
        hs = [embed(cfg, model, w) for w in windows]
        for i, layer in enumerate(model.layers):
            subset = linears(layer)
            inputs = {n: [] for n, _ in subset}
            hooks = [m.register_forward_hook(lambda mod, inp, o, n=n: inputs[n].append(inp[0].detach().clone()))
                     for n, m in subset]
            for h in hs:
                run(layer, h)
            for hk in hooks:
                hk.remove()
            for local, lin in subset:
                name = prefix(cfg, i) + local
                X = torch.cat(inputs[local]).to(torch.float64)  # [N, in]
                S = len(inputs[local])
                W = lin.weight.data
                eff = method
                if method == "stadew":
                    eff = "stade" if local in STADEW_STADE else "wanda"
                if eff in ("sparsegpt", "sparsegpt-noupdate"):
                    H = (2.0 / S) * (X.T @ X)
                    Wn, mask = sparsegpt(W, H, SPARSITY, nm, update=eff == "sparsegpt")
                    lin.weight.data = Wn
                    if eff == "sparsegpt":  # without the update the kept weights are the dense ones
                        out["weights"][name] = Wn[~mask].numpy().astype("<f4").tobytes()
                else:
                    W64 = W.to(torch.float64)
                    if eff == "magnitude":
                        metric = W64.abs()
                    elif eff == "wanda":
                        metric = W64.abs() * torch.sqrt((X ** 2).sum(0) / S).reshape(1, -1)
                    elif eff == "stade":
                        metric = W64 ** 2 * X.var(0, unbiased=True).reshape(1, -1)
                    else:
                        raise ValueError(eff)
                    mask = score_mask(metric.to(torch.float32), SPARSITY, nm, group)
                    if eff == "stade":
                        mean = X.mean(0)
                        corr = (W64 * mask.to(torch.float64)) @ mean  # before zeroing
                        b = corr if lin.bias is None else lin.bias.data.to(torch.float64) + corr
                        lin.bias = torch.nn.Parameter(b.to(torch.float32), requires_grad=False)
                        out["biases"][name] = [float(v) for v in lin.bias.data]
                    W = W.clone()
                    W[mask] = 0
                    lin.weight.data = W
                out["masks"][name] = pack_bits(mask)
            hs = [run(layer, h) for h in hs]
    return out


def pack_bits(mask):
    bits = np.packbits(mask.numpy().reshape(-1).astype(np.uint8), bitorder="little")
    return base64.b64encode(bits.tobytes()).decode("ascii")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="packages/transformer/test/fixtures")
    ap.add_argument("--out", default="packages/prune/test/fixtures")
    args = ap.parse_args()
    for name in MODELS:
        folder = os.path.join(args.models, name)
        cfg, _ = load_model(folder)
        V = cfg["vocab_size"]
        g = torch.Generator().manual_seed(2024)
        calib = torch.randint(0, V, (NSAMPLES * SEQLEN + 7,), generator=g)  # 7 tokens of remainder
        evals = torch.randint(0, V, (EVAL_WINDOWS * SEQLEN,), generator=g)
        windows = calib[:NSAMPLES * SEQLEN].reshape(NSAMPLES, SEQLEN)  # contiguous sampling
        _, dense = load_model(folder)
        with torch.no_grad():
            dense_ppl, n, _ = mf.perplexity(dense, evals, SEQLEN)
        od = os.path.join(args.out, name)
        os.makedirs(od, exist_ok=True)
        for f in os.listdir(od):
            os.remove(os.path.join(od, f))
        runs = []
        for method, pattern, group in RUNS:
            _, model = load_model(folder)
            res = prune_model(cfg, model, windows, method, pattern, group)
            with torch.no_grad():
                ppl, _, _ = mf.perplexity(model, evals, SEQLEN)
            run = {"method": method, "pattern": pattern, "group": group, "sparsity": SPARSITY, "ppl": ppl,
                   "masks": res["masks"], "biases": res["biases"]}
            if res["weights"]:
                fname = f"{method}-{pattern.replace(':', 'of')}-{group}.bin"
                names = list(res["weights"])
                with open(os.path.join(od, fname), "wb") as f:
                    for k in names:
                        f.write(res["weights"][k])
                run["kept_weights"] = {"file": fname, "dtype": "float32", "layers": names,
                                       "note": "values of the unpruned entries, row-major, layer after layer"}
            runs.append(run)
            print(f"{name} {method} {pattern} {group}: ppl {ppl:.4f} (dense {dense_ppl:.4f})")
        ref = {
            "generator": "tools/ref_prune.py",
            "torch_version": torch.__version__,
            "model": f"packages/transformer/test/fixtures/{name}",
            "calibration": {"sampling": "contiguous", "nsamples": NSAMPLES, "seqlen": SEQLEN,
                            "ids": calib.tolist()},
            "eval": {"seqlen": SEQLEN, "windows": n, "ids": evals.tolist(), "dense_ppl": dense_ppl},
            "mask_encoding": "base64 of bits packed little-endian per byte, row-major [out, in], 1 = pruned",
            "runs": runs,
        }
        with open(os.path.join(od, "reference.json"), "w") as f:
            json.dump(ref, f)
            f.write("\n")
        size = sum(os.path.getsize(os.path.join(od, x)) for x in os.listdir(od))
        print(f"{od}: {size} bytes")
        assert size < 1_500_000, od


if __name__ == "__main__":
    main()
