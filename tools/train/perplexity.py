"""Held-out perplexity by the SPEC section 9 protocol, in float32, from a saved model folder.

usage: python3 perplexity.py MODEL_DIR TEXT_FILE [--seqlen N] [--write-reference]
The text file's whole content is tokenised once with the model's tokenizer (no BOS, as
tokenizer_config.json says), cut into floor(len / seqlen) windows, and
ppl = exp(sum(loss_w * seqlen) / (n * seqlen)) with loss_w the mean next-token cross-entropy of window w.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import st_io  # noqa: E402
from bpe import ByteLevelBPE  # noqa: E402


def load_model(folder):
    config = json.load(open(os.path.join(folder, "config.json")))
    model = models.build(config)
    tensors = st_io.load(os.path.join(folder, "model.safetensors"))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise SystemExit(f"{folder}: missing {missing}, unexpected {unexpected}")
    return model.float().eval(), config


@torch.no_grad()
def perplexity(model, ids, seqlen, batch=8):
    """SPEC 9. ids: 1-D LongTensor. Returns (ppl, n_windows, per-window losses)."""
    n = ids.numel() // seqlen
    windows = ids[: n * seqlen].view(n, seqlen)
    losses = []
    for s in range(0, n, batch):
        x = windows[s:s + batch]
        logits = model(x).float()  # [B, T, vocab]
        for b in range(x.shape[0]):
            losses.append(F.cross_entropy(logits[b, :-1], x[b, 1:]).item())
    nll = sum(l * seqlen for l in losses)
    return math.exp(nll / (n * seqlen)), n, losses


def main():
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("text")
    ap.add_argument("--seqlen", type=int, default=0, help="default: max_position_embeddings")
    ap.add_argument("--write-reference", action="store_true", help="write MODEL/reference.json")
    a = ap.parse_args()
    model, config = load_model(a.model)
    seqlen = a.seqlen or config["max_position_embeddings"]
    tok = ByteLevelBPE.load(os.path.join(a.model, "tokenizer.json"))
    text = open(a.text, encoding="utf-8").read()
    ids = tok.encode(text)
    t0 = time.time()
    ppl, n, _ = perplexity(model, torch.tensor(ids, dtype=torch.long), seqlen)
    ref = {
        "ppl": ppl,
        "windows": n,
        "seqlen": seqlen,
        "tokens": len(ids),
        "text": os.path.relpath(os.path.abspath(a.text), os.path.abspath(a.model)),
        "ids_sha256": hashlib.sha256(json.dumps(ids).encode()).hexdigest(),
        "first_ids": ids[:16],
        "add_bos": False,
        "compute_dtype": "float32",
        "torch_version": torch.__version__,
    }
    print(json.dumps(ref, indent=2), f"\n({time.time() - t0:.1f}s)")
    if a.write_reference:
        with open(os.path.join(a.model, "reference.json"), "w") as f:
            json.dump(ref, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
