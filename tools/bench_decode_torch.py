#!/usr/bin/python3
"""PyTorch's dense prefill and KV-cached decode on a Hugging Face checkpoint, measured like `stade bench` (dev-only).

Loads an OPT or Llama-family folder (config.json + model.safetensors or an index with shards; F32, F16 or BF16,
computed in float32 as stade does), then, with torch.no_grad and a preallocated KV cache:
  prefill: a prompt of --prompt-tokens seeded random ids (fastest of 3);
  decode:  --new-tokens single-token steps after it, greedy; the median step.
The model is written here from transformers' modeling_opt.py / modeling_llama.py (eager attention, batch 1),
since transformers is not installed; F.linear / matmul / softmax are what transformers calls.
Prints one JSON row in `stade bench --json`'s format: {model, weights: "torch-f32", prefill_tokens_per_s,
decode_tokens_per_s, prefill_tokens_per_cpu_s, decode_tokens_per_cpu_s, rss_mb} (CPU seconds of the process, all
threads; peak resident memory of this process).

    /usr/bin/python3 tools/bench_decode_torch.py --model /tmp/opt-125m --threads 2
"""
import argparse
import json
import os
import random
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import rope_inv_freq  # noqa: E402  (default, linear and llama3 rope scaling)


def read_folder(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else [
        "model.safetensors"]
    out = {}
    for name in files:
        with open(os.path.join(folder, name), "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            data = f.read()
        for key, info in header.items():
            if key == "__metadata__":
                continue
            b, e = info["data_offsets"]
            raw = np.frombuffer(data[b:e], dtype="<u2" if info["dtype"] in ("BF16", "F16") else "<f4")
            if info["dtype"] == "BF16":
                arr = (raw.astype(np.uint32) << 16).view(np.float32)
            elif info["dtype"] == "F16":
                arr = raw.view(np.float16).astype(np.float32)
            else:
                arr = raw.copy()
            out[key] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


class Cache:
    def __init__(self, layers, kv_heads, head_dim, max_len):
        self.k = [torch.zeros(kv_heads, max_len, head_dim) for _ in range(layers)]
        self.v = [torch.zeros(kv_heads, max_len, head_dim) for _ in range(layers)]
        self.len = 0


def attend(q, k, v, cache, i, pos, window=None):
    """q [H, T, D] (scaled), k/v [KV, T, D] for positions pos..pos+T-1 -> [T, H*D]."""
    H, T, D = q.shape
    KV = k.shape[0]
    cache.k[i][:, pos:pos + T] = k
    cache.v[i][:, pos:pos + T] = v
    keys = cache.k[i][:, :pos + T].repeat_interleave(H // KV, 0)  # [H, S, D]
    vals = cache.v[i][:, :pos + T].repeat_interleave(H // KV, 0)
    s = q @ keys.transpose(1, 2)  # [H, T, S]
    qpos = torch.arange(pos, pos + T)[:, None]
    kpos = torch.arange(pos + T)[None, :]
    mask = kpos > qpos
    if window is not None:
        mask = mask | (kpos <= qpos - window)
    s = s.masked_fill(mask, float("-inf"))
    return (torch.softmax(s, -1) @ vals).transpose(0, 1).reshape(T, H * D)


class Opt:
    def __init__(self, c, w):
        self.c, self.w = c, w
        assert c.get("do_layer_norm_before", True) and c.get("word_embed_proj_dim", c["hidden_size"]) == c[
            "hidden_size"], "only pre-LN OPT without project_in/out (opt-125m's shape and the larger ones)"
        self.L, self.H = c["num_hidden_layers"], c["num_attention_heads"]
        self.D = c["hidden_size"] // self.H
        self.kv, self.hd = self.H, self.D
        self.emb = w["model.decoder.embed_tokens.weight"]
        self.head = w.get("lm_head.weight", self.emb)

    def ln(self, x, n):
        return F.layer_norm(x, x.shape[-1:], self.w[n + ".weight"], self.w[n + ".bias"], 1e-5)

    def lin(self, x, n):
        return F.linear(x, self.w[n + ".weight"], self.w.get(n + ".bias"))

    def step(self, ids, cache):
        pos, T = cache.len, ids.shape[0]
        x = self.emb[ids] + self.w["model.decoder.embed_positions.weight"][torch.arange(pos, pos + T) + 2]
        for i in range(self.L):
            p = f"model.decoder.layers.{i}."
            h = self.ln(x, p + "self_attn_layer_norm")
            q = (self.lin(h, p + "self_attn.q_proj") * self.D ** -0.5).view(T, self.H, self.D).transpose(0, 1)
            k = self.lin(h, p + "self_attn.k_proj").view(T, self.H, self.D).transpose(0, 1)
            v = self.lin(h, p + "self_attn.v_proj").view(T, self.H, self.D).transpose(0, 1)
            x = x + self.lin(attend(q, k, v, cache, i, pos), p + "self_attn.out_proj")
            h = self.ln(x, p + "final_layer_norm")
            x = x + self.lin(F.relu(self.lin(h, p + "fc1")), p + "fc2")
        cache.len += T
        return self.ln(x[-1:], "model.decoder.final_layer_norm") @ self.head.T


class Llama:
    def __init__(self, c, w):
        self.c, self.w = c, w
        self.L, self.H = c["num_hidden_layers"], c["num_attention_heads"]
        self.kv = c.get("num_key_value_heads", self.H)
        self.hd = c.get("head_dim") or c["hidden_size"] // self.H
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.emb = w["model.embed_tokens.weight"]
        self.head = self.emb if c.get("tie_word_embeddings") else w["lm_head.weight"]
        inv = rope_inv_freq(c, self.hd)
        f = torch.arange(c["max_position_embeddings"]).float()[:, None] * inv[None, :]
        e = torch.cat((f, f), -1)
        self.cos, self.sin = e.cos(), e.sin()
        self.window = c.get("sliding_window") if c["model_type"] == "mistral" else None

    def rms(self, x, n):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w[n + ".weight"]

    def lin(self, x, n):
        return F.linear(x, self.w[n + ".weight"], self.w.get(n + ".bias"))

    def rope(self, x, pos, T):
        c, s = self.cos[pos:pos + T], self.sin[pos:pos + T]
        x1, x2 = x[..., : self.hd // 2], x[..., self.hd // 2:]
        return x * c + torch.cat((-x2, x1), -1) * s

    def step(self, ids, cache):
        pos, T = cache.len, ids.shape[0]
        x = self.emb[ids]
        for i in range(self.L):
            p = f"model.layers.{i}."
            h = self.rms(x, p + "input_layernorm")
            q = self.rope(self.lin(h, p + "self_attn.q_proj").view(T, self.H, self.hd).transpose(0, 1), pos, T)
            k = self.rope(self.lin(h, p + "self_attn.k_proj").view(T, self.kv, self.hd).transpose(0, 1), pos, T)
            v = self.lin(h, p + "self_attn.v_proj").view(T, self.kv, self.hd).transpose(0, 1)
            a = attend(q * self.hd ** -0.5, k, v, cache, i, pos, self.window)
            x = x + self.lin(a, p + "self_attn.o_proj")
            h = self.rms(x, p + "post_attention_layernorm")
            x = x + self.lin(F.silu(self.lin(h, p + "mlp.gate_proj")) * self.lin(h, p + "mlp.up_proj"),
                             p + "mlp.down_proj")
        cache.len += T
        return self.rms(x[-1:], "model.norm") @ self.head.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c = json.load(open(os.path.join(a.model, "config.json")))
    m = (Opt if c["model_type"] == "opt" else Llama)(c, read_folder(a.model))
    rnd = random.Random(1)
    prompt = torch.tensor([rnd.randrange(c["vocab_size"]) for _ in range(a.prompt_tokens)])
    need = a.prompt_tokens + a.new_tokens
    with torch.no_grad():
        warm = Cache(m.L, m.kv, m.hd, 4)
        m.step(prompt[:2], warm)
        m.step(prompt[:1], warm)
        cache = Cache(m.L, m.kv, m.hd, need)
        best = best_cpu = float("inf")
        for _ in range(3):
            cache.len = 0
            t, c = time.perf_counter(), time.process_time()
            nxt = int(torch.argmax(m.step(prompt, cache)))
            best = min(best, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.process_time() - c)
        steps, cpu_steps = [], []
        for _ in range(a.new_tokens):
            t, c = time.perf_counter(), time.process_time()
            nxt = int(torch.argmax(m.step(torch.tensor([nxt]), cache)))
            steps.append(time.perf_counter() - t)
            cpu_steps.append(time.process_time() - c)
    print(json.dumps({"model": a.model, "weights": "torch-f32", "prefill_tokens_per_s": a.prompt_tokens / best,
                      "decode_tokens_per_s": 1 / statistics.median(steps),
                      "prefill_tokens_per_cpu_s": a.prompt_tokens / best_cpu,
                      "decode_tokens_per_cpu_s": 1 / statistics.median(cpu_steps),
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
