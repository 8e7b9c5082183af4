"""PyTorch reference of lm-evaluation-harness v0.4.x zero-shot scoring, for @stade/eval's golden test.

usage: /usr/bin/python3 tools/ref_zeroshot.py [--out packages/eval/test/fixtures/reference.json]
       /usr/bin/python3 tools/ref_zeroshot.py --bench REQUESTS.json [--threads 2]   (timing, see bench())

Re-implements (rewritten from the harness's semantics, not copied) for the seven tasks of the pruning papers:
- doc -> (context, continuation) requests and gold: boolq/rte templates, hellaswag's preprocess and capitalize,
  winogrande's partial evaluation, arc/openbookqa labels (task yaml files and utils of the harness);
- `_encode_pair` (trailing whitespace of the context moves to the continuation; the continuation's ids are the
  tail of encode(context + continuation) after len(encode(context))), no special tokens;
- `_loglikelihood_tokens` (input (ctx + cont)[-(max_length + 1):][:-1], max_length = max_position_embeddings;
  log_softmax in float64 of the float32 logits; sum over the continuation), one request at a time;
- acc (argmax, first on ties), acc_norm (ll / len(choice) in characters) and mean_stderr (sample std / sqrt n).
Models: the embedded trained models in models/ (their PyTorch modules and safetensors reader from tools/train)
and their tokenizers (tools/train/bpe.py, checked equal to @huggingface/tokenizers by check_tokenizer.py).
Tasks: the hand-written records in packages/eval/test/fixtures/data/<task>.jsonl (Hugging Face field layouts).
"""
import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from bpe import ByteLevelBPE  # noqa: E402
from perplexity import load_model  # noqa: E402
import models  # noqa: E402
import st_io  # noqa: E402

DATA = os.path.join(ROOT, "packages", "eval", "test", "fixtures", "data")
MODELS = ["stade-opt-tiny", "stade-llama-tiny"]
TASKS = ["boolq", "rte", "hellaswag", "winogrande", "arc_easy", "arc_challenge", "openbookqa"]
NORM_TASKS = {"hellaswag", "arc_easy", "arc_challenge", "openbookqa"}


def hellaswag_preprocess(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def requests_of(task, doc):
    """(list of (context, continuation), choices, gold) as the harness's ConfigurableTask builds them."""
    if task == "boolq":
        ctx, choices, gold = f"{doc['passage']}\nQuestion: {doc['question']}?\nAnswer:", ["no", "yes"], doc["label"]
    elif task == "rte":
        ctx = f"{doc['sentence1']}\nQuestion: {doc['sentence2']} True or False?\nAnswer:"
        choices, gold = ["True", "False"], doc["label"]
    elif task == "hellaswag":
        ctx = hellaswag_preprocess(doc["activity_label"] + ": " + doc["ctx_a"] + " " + doc["ctx_b"].capitalize())
        choices, gold = [hellaswag_preprocess(e) for e in doc["endings"]], int(doc["label"])
    elif task == "winogrande":
        idx = doc["sentence"].index("_")
        choices = [doc["sentence"][:idx] + o for o in (doc["option1"], doc["option2"])]
        target = doc["sentence"][idx + 1:].strip()
        gold = {"1": 0, "2": 1}[doc["answer"]]
        return [(c, " " + target) for c in choices], choices, gold
    elif task in ("arc_easy", "arc_challenge"):
        ctx = f"Question: {doc['question']}\nAnswer:"
        choices, gold = doc["choices"]["text"], doc["choices"]["label"].index(doc["answerKey"])
    elif task == "openbookqa":
        ctx = doc["question_stem"]
        choices, gold = doc["choices"]["text"], doc["choices"]["label"].index(doc["answerKey"].lstrip())
    else:
        raise ValueError(task)
    return [(ctx, " " + c) for c in choices], choices, gold


def encode_pair(tok, context, continuation, seen):
    """`seen` records every text encoded (the golden test's lookup-table tokenizer)."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tok.encode(context + continuation)
    ctx = tok.encode(context)
    seen[context + continuation], seen[context] = whole, ctx
    return ctx, whole[len(ctx):]


@torch.no_grad()
def loglikelihood(model, max_length, ctx, cont):
    inp = (ctx + cont)[-(max_length + 1):][:-1]
    logits = model(torch.tensor([inp], dtype=torch.long))[0].float()  # [T, vocab], float32
    logp = F.log_softmax(logits.double(), dim=-1)[len(inp) - len(cont):]  # [|cont|, vocab]
    return float(logp.gather(1, torch.tensor(cont).unsqueeze(1)).sum())


def mean_stderr(xs):
    if len(xs) < 2:
        return None
    mu = sum(xs) / len(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / (len(xs) - 1)) / math.sqrt(len(xs))


# strings where Python's str methods and JavaScript's differ (the golden test checks @stade/eval's pystr.ts)
STRINGS = ["\u00dfen ABC", "\u01c6EMAL", "\ufb01ne DAY", "\u1f80 X", "\u10d0\u10d1", "\u03a3\u0391\u03a3 \u03a3",
           "\u0130STANBUL", "\x1c\x85 text \ufeff", "\u2028a [b\rc] d\u2029", " [title] How [x] to  run   [y] ",
           "\U0001d400bc", "\U0001f600 smile", "\u0587 and", "", "  \t\n", "1ST place", "\u00e9CLAIRS are FILLED"]


def python_strings():
    return [{"s": t, "capitalize": t.capitalize(), "strip": t.strip(), "rstrip": t.rstrip(), "lstrip": t.lstrip(),
             "len": len(t), "hellaswag": hellaswag_preprocess(t)} for t in STRINGS]


def bench(file, threads):
    """Times the harness's loop (one forward per request) on the encoded documents of `file` (written by
    packages/eval/src/bench/main.ts --torch): per task, wall and CPU seconds and every log-likelihood, as JSON."""
    torch.set_num_threads(threads)
    spec = json.load(open(file))
    folder = spec["model"]
    config = json.load(open(os.path.join(folder, "config.json")))
    tensors = {}
    for f in sorted(os.listdir(folder)):  # one file or shards
        if f.endswith(".safetensors"):
            tensors.update(st_io.load(os.path.join(folder, f)))
    model = models.build(config)
    model.load_state_dict(tensors, strict=False)
    model = model.float().eval()
    max_length = config["max_position_embeddings"]
    loglikelihood(model, max_length, [5] * 45, [6] * 30)  # warm-up
    tasks = []
    for t in spec["tasks"]:
        w0, c0 = time.perf_counter(), time.process_time()
        lls = [[loglikelihood(model, max_length, r["context"], r["continuation"]) for r in d] for d in t["docs"]]
        tasks.append({"task": t["task"], "seconds": time.perf_counter() - w0, "cpu_seconds": time.process_time() - c0,
                      "lls": lls})
    print(json.dumps({"torch_version": torch.__version__, "threads": threads, "tasks": tasks}))


def main():
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "packages", "eval", "test", "fixtures", "reference.json"))
    ap.add_argument("--bench", help="time the harness's loop on a requests file (see bench(); prints JSON)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of --bench")
    a = ap.parse_args()
    if a.bench:
        return bench(a.bench, a.threads)
    out = {"harness": "lm-evaluation-harness v0.4.x semantics", "torch_version": torch.__version__, "models": {},
           "strings": python_strings()}
    for name in MODELS:
        folder = os.path.join(ROOT, "models", name)
        model, config = load_model(folder)
        tok = ByteLevelBPE.load(os.path.join(folder, "tokenizer.json"))
        max_length = config["max_position_embeddings"]
        tasks, seen = {}, {}
        for task in TASKS:
            lines = open(os.path.join(DATA, task + ".jsonl"), encoding="utf-8").read().splitlines()
            docs, accs, norms = [], [], []
            for i, line in enumerate(lines):
                reqs, choices, gold = requests_of(task, json.loads(line))
                pairs = [encode_pair(tok, c, x, seen) for c, x in reqs]
                lls = [loglikelihood(model, max_length, c, x) for c, x in pairs]
                pred = int(np.argmax(lls))
                pred_norm = int(np.argmax(np.array(lls) / np.array([float(len(c)) for c in choices])))
                accs.append(1.0 if pred == gold else 0.0)
                norms.append(1.0 if pred_norm == gold else 0.0)
                docs.append({"doc": i, "requests": [{"context": c, "continuation": x} for c, x in pairs],
                             "lls": lls, "gold": gold, "pred": pred,
                             "pred_norm": pred_norm if task in NORM_TASKS else None})
            res = {"n": len(docs), "acc": sum(accs) / len(accs), "acc_stderr": mean_stderr(accs)}
            if task in NORM_TASKS:
                res["acc_norm"], res["acc_norm_stderr"] = sum(norms) / len(norms), mean_stderr(norms)
            tasks[task] = {"result": res, "docs": docs}
            print(name, task, json.dumps(res))
        out["models"][name] = {"max_length": max_length, "tasks": tasks, "encodings": seen}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
