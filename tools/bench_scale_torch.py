#!/usr/bin/python3
"""PyTorch side of `npm run bench:scale` (tools/bench_scale.mjs): one run per process on a Hugging Face folder
(F32/F16/BF16, single file or sharded), the whole model in float32 as a PyTorch pipeline holds it.

    /usr/bin/python3 tools/bench_scale_torch.py --model DIR --ids ids.json --run eval|wanda|stade|sparsegpt [--threads 2]

ids.json (written by bench_scale.mjs with stade's tokenizer): {"calib": [[...], ...], "eval": [...], "evalSeqlen": N}.
Runs: `eval` = perplexity (SPEC 9) of the eval ids; `wanda`/`stade` = tools/ref_prune.py's sequential pipeline
(float64 statistics, 50% unstructured, row groups); `sparsegpt` = the same pipeline with SparseGPT in float32 as
the original code runs it (tools/bench_prune_torch.py's fasterprune_f32; Hessian 2 X^T X / n in float32).
Prints one JSON line: {"run", "seconds" (after loading), "loadSeconds", "peakRssMb"}; when the float32 model would
not fit in memory it prints {"run", "skipped": reason} instead.
"""
import argparse
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_prune_torch as bp  # noqa: E402
import make_fixtures as mf  # noqa: E402
import ref_prune as rp  # noqa: E402


def read_tensors(folder):
    """Yields (name, float32 tensor) from model.safetensors or the shards of model.safetensors.index.json."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for file in files:
        with open(os.path.join(folder, file), "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            start = 8 + n
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                b, e = info["data_offsets"]
                f.seek(start + b)
                raw = f.read(e - b)
                if info["dtype"] == "BF16":
                    a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
                elif info["dtype"] == "F16":
                    a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
                else:
                    a = np.frombuffer(raw, dtype="<f4").copy()
                yield name, torch.from_numpy(a).reshape(info["shape"])


def load(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    # no random initialisation: every parameter is overwritten from the checkpoint
    torch.nn.Linear.reset_parameters = lambda self: None
    torch.nn.Embedding.reset_parameters = lambda self: None
    model = mf.OPT(cfg) if cfg["model_type"] == "opt" else mf.Llama(cfg)
    own = model.state()
    seen = set()
    with torch.no_grad():
        for name, t in read_tensors(folder):
            if name in own:
                own[name].copy_(t)
                seen.add(name)
    missing = set(own) - seen
    assert not missing, sorted(missing)[:5]
    model.eval()
    return cfg, model


def sparsegpt_f32(W, H, sparsity, nm, blocksize=128, percdamp=0.01, update=True):
    """ref_prune.sparsegpt's signature, computed in float32 as the original SparseGPT code (unstructured only)."""
    assert nm is None and update, "the float32 bench covers unstructured SparseGPT"
    Wn = bp.fasterprune_f32(W, H.to(torch.float32), sparsity, blocksize, percdamp)
    return Wn, Wn == 0


def available_bytes():
    """MemAvailable (free memory plus reclaimable page cache, e.g. the checkpoint just read); free pages elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--run", required=True, choices=["eval", "wanda", "stade", "sparsegpt"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    params = sum(
        int(np.prod(t)) for t in [[cfg["vocab_size"], cfg["hidden_size"]]]
    ) + cfg["num_hidden_layers"] * (4 * cfg["hidden_size"] ** 2 + 3 * cfg["hidden_size"] * cfg.get("intermediate_size", cfg.get("ffn_dim", 0)))
    avail = available_bytes()
    if params * 4 * 1.3 > avail:
        print(json.dumps({"run": args.run, "skipped": f"float32 model needs ~{params * 4 / 2**30:.0f} GiB, "
                          f"{avail / 2**30:.0f} GiB available"}))
        return
    with open(args.ids) as f:
        ids = json.load(f)
    t0 = time.perf_counter()
    cfg, model = load(args.model)
    t1 = time.perf_counter()
    with torch.no_grad():
        if args.run == "eval":
            ppl, n, _ = mf.perplexity(model, torch.tensor(ids["eval"]), ids["evalSeqlen"])
            extra = {"ppl": ppl, "windows": n}
        else:
            if args.run == "sparsegpt":
                rp.sparsegpt = sparsegpt_f32
            rp.prune_model(cfg, model, torch.tensor(ids["calib"]), args.run, "unstructured")
            extra = {}
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"run": args.run, "seconds": t2 - t1, "loadSeconds": t1 - t0, "peakRssMb": round(peak),
                      "threads": args.threads, **extra}))


if __name__ == "__main__":
    main()
