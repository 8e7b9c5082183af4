#!/usr/bin/python3
"""Writes the golden fixtures of @stade/transformer: tiny random checkpoints in Hugging Face layout plus
the logits and the perplexity that PyTorch computes for them.

Dev-only. Run from the repository root with Debian's python3-torch (transformers is not needed):

    /usr/bin/python3 tools/make_fixtures.py [--out packages/transformer/test/fixtures]

The small modules below are written from transformers' modeling_opt.py and modeling_llama.py (mistral and
qwen2 are the Llama wiring with a sliding window and q/k/v biases), eager attention, no padding, batch 1.
Every fixture folder holds config.json, model.safetensors (or an index + shards), and reference.json +
logits.bin (float32 little-endian, [tokens, vocab]). The F16/BF16 variants store rounded weights; their
reference is the float32 model on exactly those rounded weights (stade computes in float32).
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
TORCH_DTYPE_NAME = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


# ----------------------------------------------------------------------------------------- safetensors
def write_safetensors(path, tensors):
    """tensors: list of (name, dtype 'F32'|'F16'|'BF16', float32 torch tensor). Written by hand."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, dt, t in tensors:
        t = t.detach().contiguous().to(DTYPES[dt])
        if dt == "F32":
            raw = t.numpy().astype("<f4").tobytes()
        else:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


# ----------------------------------------------------------------------------------------- OPT
class OPTLayer(torch.nn.Module):
    """modeling_opt.py OPTDecoderLayer: pre-LN or post-LN, q scaled by head_dim^-0.5, relu FFN."""

    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.c = c
        self.heads = c["num_attention_heads"]
        self.head_dim = h // self.heads
        b = c.get("enable_bias", True)
        self.self_attn = torch.nn.Module()
        self.self_attn.q_proj = torch.nn.Linear(h, h, bias=b)
        self.self_attn.k_proj = torch.nn.Linear(h, h, bias=b)
        self.self_attn.v_proj = torch.nn.Linear(h, h, bias=b)
        self.self_attn.out_proj = torch.nn.Linear(h, h, bias=b)
        self.self_attn_layer_norm = torch.nn.LayerNorm(h)
        self.fc1 = torch.nn.Linear(h, c["ffn_dim"], bias=b)
        self.fc2 = torch.nn.Linear(c["ffn_dim"], h, bias=b)
        self.final_layer_norm = torch.nn.LayerNorm(h)

    def attn(self, x):
        T = x.shape[0]
        a = self.self_attn
        q = (a.q_proj(x) * self.head_dim ** -0.5).view(T, self.heads, self.head_dim).transpose(0, 1)
        k = a.k_proj(x).view(T, self.heads, self.head_dim).transpose(0, 1)
        v = a.v_proj(x).view(T, self.heads, self.head_dim).transpose(0, 1)
        w = q @ k.transpose(1, 2)
        mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
        w = torch.softmax(w + mask, dim=-1, dtype=torch.float32)
        o = (w @ v).transpose(0, 1).reshape(T, -1)
        return a.out_proj(o)

    def forward(self, x):
        pre = self.c["do_layer_norm_before"]
        r = x
        if pre:
            x = self.self_attn_layer_norm(x)
        x = r + self.attn(x)
        if not pre:
            x = self.self_attn_layer_norm(x)
        r = x
        if pre:
            x = self.final_layer_norm(x)
        x = r + self.fc2(torch.relu(self.fc1(x)))
        if not pre:
            x = self.final_layer_norm(x)
        return x


class OPT(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        h, p = c["hidden_size"], c["word_embed_proj_dim"]
        self.embed_tokens = torch.nn.Embedding(c["vocab_size"], p)
        self.embed_positions = torch.nn.Embedding(c["max_position_embeddings"] + 2, h)  # offset 2
        self.project_in = torch.nn.Linear(p, h, bias=False) if p != h else None
        self.project_out = torch.nn.Linear(h, p, bias=False) if p != h else None
        self.final_layer_norm = torch.nn.LayerNorm(h) if c["do_layer_norm_before"] else None
        self.layers = torch.nn.ModuleList([OPTLayer(c) for _ in range(c["num_hidden_layers"])])

    def state(self):
        d = {}
        for k, v in self.state_dict().items():
            d["model.decoder." + k] = v
        return d  # lm_head tied to embed_tokens: not stored, as save_pretrained does

    def forward(self, ids):
        x = self.embed_tokens(ids)
        if self.project_in is not None:
            x = self.project_in(x)
        x = x + self.embed_positions(torch.arange(ids.shape[0]) + 2)
        for layer in self.layers:
            x = layer(x)
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        if self.project_out is not None:
            x = self.project_out(x)
        return x @ self.embed_tokens.weight.T


# ----------------------------------------------------------------------------------------- Llama family
def rope_inv_freq(c, head_dim):
    """modeling_rope_utils.py: default, linear and llama3 (computed in float32 like torch does)."""
    base = float(c.get("rope_theta", 10000.0))
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    rs = c.get("rope_scaling")
    if not rs:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    if kind == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        out = torch.where(wl > lo_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wl < hi_wl) * ~(wl > lo_wl)
        return torch.where(medium, smoothed, out)
    raise ValueError(kind)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class RMSNorm(torch.nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(h))
        self.eps = eps

    def forward(self, x):
        x = x.to(torch.float32)
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


class LlamaLayer(torch.nn.Module):
    def __init__(self, c, index):
        super().__init__()
        h = c["hidden_size"]
        self.c = c
        self.index = index
        self.heads = c["num_attention_heads"]
        self.kv = c.get("num_key_value_heads", self.heads)
        self.hd = c.get("head_dim") or h // self.heads
        qkv_b = c["model_type"] == "qwen2" or c.get("attention_bias", False)
        o_b = c["model_type"] != "qwen2" and c.get("attention_bias", False)
        mb = c.get("mlp_bias", False)
        self.input_layernorm = RMSNorm(h, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(h, c["rms_norm_eps"])
        self.self_attn = torch.nn.Module()
        self.self_attn.q_proj = torch.nn.Linear(h, self.heads * self.hd, bias=qkv_b)
        self.self_attn.k_proj = torch.nn.Linear(h, self.kv * self.hd, bias=qkv_b)
        self.self_attn.v_proj = torch.nn.Linear(h, self.kv * self.hd, bias=qkv_b)
        self.self_attn.o_proj = torch.nn.Linear(self.heads * self.hd, h, bias=o_b)
        self.mlp = torch.nn.Module()
        self.mlp.gate_proj = torch.nn.Linear(h, c["intermediate_size"], bias=mb)
        self.mlp.up_proj = torch.nn.Linear(h, c["intermediate_size"], bias=mb)
        self.mlp.down_proj = torch.nn.Linear(c["intermediate_size"], h, bias=mb)

    def window(self):
        c = self.c
        if c["model_type"] == "mistral":
            return c.get("sliding_window")
        if c["model_type"] == "qwen2" and c.get("use_sliding_window") and self.index >= c["max_window_layers"]:
            return c.get("sliding_window")  # configuration_qwen2.py layer_types
        return None

    def forward(self, x, cos, sin):
        T = x.shape[0]
        a = self.self_attn
        r = x
        x = self.input_layernorm(x)
        q = a.q_proj(x).view(T, self.heads, self.hd).transpose(0, 1)
        k = a.k_proj(x).view(T, self.kv, self.hd).transpose(0, 1)
        v = a.v_proj(x).view(T, self.kv, self.hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv  # repeat_kv
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        w = (q @ k.transpose(1, 2)) * self.hd ** -0.5
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        keep = j <= i
        win = self.window()
        if win is not None:
            keep = keep & (j > i - win)  # masking_utils.sliding_window_overlay
        w = w.masked_fill(~keep, torch.finfo(torch.float32).min)
        w = torch.softmax(w, dim=-1, dtype=torch.float32)
        o = (w @ v).transpose(0, 1).reshape(T, -1)
        x = r + a.o_proj(o)
        r = x
        x = self.post_attention_layernorm(x)
        m = self.mlp
        return r + m.down_proj(F.silu(m.gate_proj(x)) * m.up_proj(x))


class Llama(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = torch.nn.ModuleList([LlamaLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.tied = c.get("tie_word_embeddings", False)
        self.lm_head = None if self.tied else torch.nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def state(self):
        d = {}
        for k, v in self.state_dict().items():
            d[k if k.startswith("lm_head.") else "model." + k] = v
        return d

    def forward(self, ids):
        T = ids.shape[0]
        hd = self.layers[0].hd
        inv = rope_inv_freq(self.c, hd)
        freqs = torch.arange(T).float()[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        x = self.norm(x)
        w = self.embed_tokens.weight if self.tied else self.lm_head.weight
        return x @ w.T


# ----------------------------------------------------------------------------------------- fixtures
def randomise(model, seed):
    """Weights with enough spread that logits differ clearly between tokens."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g) if name.endswith("weight")
                        else 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embed" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def round_weights(model, dt):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(DTYPES[dt]).to(torch.float32))


OPT_BASE = dict(
    model_type="opt", architectures=["OPTForCausalLM"], activation_function="relu", activation_dropout=0.0,
    attention_dropout=0.0, dropout=0.0, layerdrop=0.0, init_std=0.02, enable_bias=True,
    layer_norm_elementwise_affine=True, bos_token_id=2, eos_token_id=2, pad_token_id=1, prefix="</s>",
    use_cache=True, tie_word_embeddings=True, transformers_version="4.46.0",
)
LLAMA_BASE = dict(
    hidden_act="silu", initializer_range=0.02, attention_dropout=0.0, bos_token_id=1, eos_token_id=2,
    pretraining_tp=1, use_cache=True, transformers_version="4.46.0",
)

FIXTURES = [
    # name, seed, config, dtypes
    ("opt-pre", 101, dict(OPT_BASE, vocab_size=211, hidden_size=32, word_embed_proj_dim=32, ffn_dim=80,
                          num_attention_heads=4, num_hidden_layers=2, max_position_embeddings=64,
                          do_layer_norm_before=True), ["F32", "F16", "BF16"]),
    ("opt-post", 102, dict(OPT_BASE, vocab_size=163, hidden_size=48, word_embed_proj_dim=32, ffn_dim=96,
                           num_attention_heads=3, num_hidden_layers=2, max_position_embeddings=64,
                           do_layer_norm_before=False), ["F32"]),
    ("llama-gqa", 103, dict(LLAMA_BASE, model_type="llama", architectures=["LlamaForCausalLM"], vocab_size=197,
                            hidden_size=64, intermediate_size=112, num_attention_heads=4, num_key_value_heads=2,
                            head_dim=16, num_hidden_layers=2, max_position_embeddings=128, rms_norm_eps=1e-5,
                            rope_theta=500000.0, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
                            rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                              high_freq_factor=4.0, original_max_position_embeddings=16)),
     ["F32", "F16", "BF16"]),
    ("llama-bias", 104, dict(LLAMA_BASE, model_type="llama", architectures=["LlamaForCausalLM"], vocab_size=131,
                             hidden_size=48, intermediate_size=72, num_attention_heads=6, num_key_value_heads=6,
                             num_hidden_layers=2, max_position_embeddings=64, rms_norm_eps=1e-6,
                             rope_theta=10000.0, tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
                             rope_scaling=dict(type="linear", factor=2.0)), ["F32"]),
    ("mistral", 105, dict(LLAMA_BASE, model_type="mistral", architectures=["MistralForCausalLM"], vocab_size=149,
                          hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=1,
                          head_dim=16, num_hidden_layers=2, max_position_embeddings=128, rms_norm_eps=1e-5,
                          rope_theta=10000.0, sliding_window=7, tie_word_embeddings=False), ["F32"]),
    ("qwen2", 106, dict(LLAMA_BASE, model_type="qwen2", architectures=["Qwen2ForCausalLM"], vocab_size=173,
                        hidden_size=48, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2,
                        num_hidden_layers=2, max_position_embeddings=128, max_window_layers=2,
                        rms_norm_eps=1e-6, rope_theta=1000000.0, sliding_window=32, use_sliding_window=False,
                        tie_word_embeddings=True), ["F32"]),
    ("qwen2-window", 107, dict(LLAMA_BASE, model_type="qwen2", architectures=["Qwen2ForCausalLM"], vocab_size=101,
                               hidden_size=32, intermediate_size=48, num_attention_heads=2, num_key_value_heads=1,
                               num_hidden_layers=2, max_position_embeddings=64, max_window_layers=1,
                               rms_norm_eps=1e-6, rope_theta=10000.0, sliding_window=5, use_sliding_window=True,
                               tie_word_embeddings=False), ["F32"]),
]
SHARDED = {"qwen2"}  # written as model.safetensors.index.json + 2 shards
LOGIT_TOKENS = 21
PPL_SEQLEN = 16
PPL_TOKENS = 3 * PPL_SEQLEN + 5  # 3 windows, remainder of 5 dropped


def perplexity(model, ids, seqlen):
    """SPEC 9: non-overlapping windows, mean NLL of seqlen-1 predictions, ppl = exp(sum(loss*seqlen)/(n*seqlen))."""
    n = ids.shape[0] // seqlen
    losses = []
    for w in range(n):
        x = ids[w * seqlen:(w + 1) * seqlen]
        logits = model(x).to(torch.float64)
        loss = F.cross_entropy(logits[:-1], x[1:])
        losses.append(float(loss))
    nll = sum(l * seqlen for l in losses)
    return math.exp(nll / (n * seqlen)), n, losses


def write_fixture(out, name, seed, cfg, dt):
    torch.manual_seed(seed)
    is_opt = cfg["model_type"] == "opt"
    model = OPT(cfg) if is_opt else Llama(cfg)
    randomise(model, seed)
    if dt != "F32":
        round_weights(model, dt)
    model.eval()
    folder = os.path.join(out, name if dt == "F32" else f"{name}-{dt.lower()}")
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    config = dict(cfg, torch_dtype=TORCH_DTYPE_NAME[dt])
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict(sorted(config.items())), f, indent=2)
        f.write("\n")
    tensors = [(k, dt, v) for k, v in model.state().items()]
    if name in SHARDED:
        half = len(tensors) // 2
        shards = [tensors[:half], tensors[half:]]
        weight_map = {}
        total = 0
        for s, part in enumerate(shards):
            fname = f"model-{s + 1:05d}-of-{len(shards):05d}.safetensors"
            write_safetensors(os.path.join(folder, fname), part)
            for k, _, v in part:
                weight_map[k] = fname
                total += v.numel() * torch.tensor([], dtype=DTYPES[dt]).element_size()
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
            f.write("\n")
    else:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors)

    g = torch.Generator().manual_seed(seed + 1000)
    V = cfg["vocab_size"]
    ids = torch.randint(0, V, (LOGIT_TOKENS,), generator=g)
    ppl_ids = torch.randint(0, V, (PPL_TOKENS,), generator=g)
    with torch.no_grad():
        logits = model(ids).to(torch.float32)
        ppl, n, losses = perplexity(model, ppl_ids, PPL_SEQLEN)
    with open(os.path.join(folder, "logits.bin"), "wb") as f:
        f.write(logits.contiguous().numpy().astype("<f4").tobytes())
    ref = {
        "generator": "tools/make_fixtures.py",
        "torch_version": torch.__version__,
        "seed": seed,
        "dtype": dt,
        "ids": ids.tolist(),
        "logits": {"file": "logits.bin", "dtype": "float32", "shape": list(logits.shape)},
        "perplexity": {"seqlen": PPL_SEQLEN, "ids": ppl_ids.tolist(), "ppl": ppl, "windows": n,
                       "window_losses": losses},
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(ref, f)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(folder, x)) for x in os.listdir(folder))
    print(f"{folder}: {size} bytes, ppl {ppl:.6f} over {n} windows")
    assert size < 1_000_000, folder


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="packages/transformer/test/fixtures")
    args = ap.parse_args()
    for name, seed, cfg, dtypes in FIXTURES:
        for dt in dtypes:
            write_fixture(args.out, name, seed, cfg, dt)


if __name__ == "__main__":
    main()
