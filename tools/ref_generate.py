#!/usr/bin/python3
"""Greedy-decoding reference for `stade generate` and @stade/transformer's `generate` (dev-only).

Mirrors transformers' greedy search (GenerationMixin._sample with do_sample=False, batch 1, no padding): at every
step the logits of the last position, argmax (torch.argmax: ties to the lowest id), append, stop after
max_new_tokens or once eos_token_id (from config.json) was produced (it is kept). The models are the PyTorch
modules of tools/make_fixtures.py (written from transformers' modeling_opt.py / modeling_llama.py); every step
recomputes the whole sequence without a cache, so the reference is independent of stade's KV cache.

Models: the float32 transformer fixtures (prompt: the first PROMPT_TOKENS of their reference ids) and the two
embedded models (prompt: PROMPT_TEXT, whose ids are written below as stade's tokenizer gives them; the CLI test
checks that `stade generate --prompt PROMPT_TEXT` tokenises to them).
Writes packages/transformer/test/fixtures/generate.json with, per model, the prompt, the generated ids and the
smallest gap between the best and second-best logit over the steps (how robust the argmax is).

Usage (from the repository root, Debian's python3-torch):  /usr/bin/python3 tools/ref_generate.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_prune import load_model  # noqa: E402

torch.set_num_threads(1)

FIXTURES = "packages/transformer/test/fixtures"
FIXTURE_MODELS = ["opt-pre", "opt-post", "llama-gqa", "llama-bias", "mistral", "qwen2-window"]
PROMPT_TOKENS = 6
NEW_TOKENS = 40
PROMPT_TEXT = "Call me Ishmael. Some years ago, the whale"
PROMPT_TEXT_IDS = [34, 439, 502, 1148, 71, 2611, 417, 13, 2773, 812, 2084, 11, 262, 348, 1000]
EMBEDDED = ["models/stade-opt-tiny", "models/stade-llama-tiny"]
EMBEDDED_NEW_TOKENS = 48


def greedy(model, eos, prompt, new_tokens):
    ids = list(prompt)
    out = []
    gap = float("inf")
    with torch.no_grad():
        for _ in range(new_tokens):
            logits = model(torch.tensor(ids))[-1]
            top2 = torch.topk(logits, 2).values
            gap = min(gap, float(top2[0] - top2[1]))
            nxt = int(torch.argmax(logits))
            ids.append(nxt)
            out.append(nxt)
            if nxt in eos:
                break
    return out, gap


def eos_ids(cfg):
    e = cfg.get("eos_token_id")
    return set() if e is None else set(e if isinstance(e, list) else [e])


def main():
    result = {"generator": "tools/make_fixtures.py models, greedy as transformers (tools/ref_generate.py)",
              "torch_version": torch.__version__, "models": {}}
    runs = [(os.path.join(FIXTURES, n), n, None, NEW_TOKENS) for n in FIXTURE_MODELS]
    runs += [(d, os.path.basename(d), PROMPT_TEXT, EMBEDDED_NEW_TOKENS) for d in EMBEDDED]
    for folder, name, text, new_tokens in runs:
        cfg, model = load_model(folder)
        if text is None:
            with open(os.path.join(folder, "reference.json")) as f:
                prompt = json.load(f)["ids"][:PROMPT_TOKENS]
        else:
            prompt = PROMPT_TEXT_IDS
        ids, gap = greedy(model, eos_ids(cfg), prompt, new_tokens)
        entry = {"dir": folder, "prompt_ids": prompt, "max_new_tokens": new_tokens, "ids": ids, "min_gap": gap}
        if text is not None:
            entry["prompt"] = text
        result["models"][name] = entry
        print(f"{name}: {len(ids)} tokens, min top-2 gap {gap:.3g}")
    with open(os.path.join(FIXTURES, "generate.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
