"""Minimal PyTorch OPT and Llama causal LMs whose parameter names and maths follow transformers'
modeling_opt.py / modeling_llama.py (eager attention, no padding, no cache), so the state dict loads
into OPTForCausalLM / LlamaForCausalLM unchanged. Written for training the embedded models only."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def causal_attention(q, k, v):
    """q, k, v: [B, H, T, D] (q already scaled) -> [B, H, T, D]."""
    T = q.shape[-2]
    scores = q @ k.transpose(-1, -2)  # [B, H, T, T]
    mask = torch.full((T, T), float("-inf"), device=q.device).triu(1)
    probs = torch.softmax(scores + mask, dim=-1, dtype=torch.float32).to(q.dtype)
    return probs @ v


# ----------------------------------------------------------------------------------------- OPT
class OPTAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.d = c["num_attention_heads"], c["hidden_size"] // c["num_attention_heads"]
        E = c["hidden_size"]
        self.q_proj, self.k_proj = nn.Linear(E, E), nn.Linear(E, E)
        self.v_proj, self.out_proj = nn.Linear(E, E), nn.Linear(E, E)

    def forward(self, x):  # [B, T, E]
        B, T, E = x.shape
        split = lambda t: t.view(B, T, self.h, self.d).transpose(1, 2)
        q = split(self.q_proj(x) * self.d ** -0.5)
        o = causal_attention(q, split(self.k_proj(x)), split(self.v_proj(x)))
        return self.out_proj(o.transpose(1, 2).reshape(B, T, E))


class OPTDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["hidden_size"]
        self.self_attn = OPTAttention(c)
        self.self_attn_layer_norm = nn.LayerNorm(E, eps=1e-5)
        self.fc1, self.fc2 = nn.Linear(E, c["ffn_dim"]), nn.Linear(c["ffn_dim"], E)
        self.final_layer_norm = nn.LayerNorm(E, eps=1e-5)

    def forward(self, h):  # pre-LN (do_layer_norm_before = true)
        h = h + self.self_attn(self.self_attn_layer_norm(h))
        return h + self.fc2(F.relu(self.fc1(self.final_layer_norm(h))))


class OPTDecoder(nn.Module):
    OFFSET = 2  # OPTLearnedPositionalEmbedding's offset

    def __init__(self, c):
        super().__init__()
        E = c["hidden_size"]
        self.embed_tokens = nn.Embedding(c["vocab_size"], E)
        self.embed_positions = nn.Embedding(c["max_position_embeddings"] + self.OFFSET, E)
        self.final_layer_norm = nn.LayerNorm(E, eps=1e-5)
        self.layers = nn.ModuleList(OPTDecoderLayer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, ids):  # [B, T]
        T = ids.shape[1]
        h = self.embed_tokens(ids) + self.embed_positions(torch.arange(T, device=ids.device) + self.OFFSET)
        for layer in self.layers:
            h = layer(h)
        return self.final_layer_norm(h)


class OPTModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.decoder = OPTDecoder(c)


class OPTForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = OPTModel(c)
        init_weights(self, c["init_std"])

    def embedding(self):
        return self.model.decoder.embed_tokens

    def forward(self, ids):  # -> logits [B, T, vocab], lm_head tied to embed_tokens
        return F.linear(self.model.decoder(ids), self.embedding().weight)


# --------------------------------------------------------------------------------------- Llama
class LlamaRMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(n)), eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(T, head_dim, theta, device):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float().to(device) / head_dim))
    freqs = torch.arange(T, device=device).float()[:, None] * inv_freq[None, :]  # [T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, D]
    return emb.cos(), emb.sin()


class LlamaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["hidden_size"]
        self.h, self.kv = c["num_attention_heads"], c["num_key_value_heads"]
        self.d = c.get("head_dim") or E // self.h
        self.theta = c["rope_theta"]
        self.q_proj = nn.Linear(E, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(E, self.kv * self.d, bias=False)
        self.v_proj = nn.Linear(E, self.kv * self.d, bias=False)
        self.o_proj = nn.Linear(self.h * self.d, E, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.h // self.kv  # grouped-query attention: repeat_kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        o = causal_attention(q * self.d ** -0.5, k, v)
        return self.o_proj(o.transpose(1, 2).reshape(B, T, self.h * self.d))


class LlamaMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        E, I = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(E, I, bias=False)
        self.up_proj = nn.Linear(E, I, bias=False)
        self.down_proj = nn.Linear(I, E, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn, self.mlp = LlamaAttention(c), LlamaMLP(c)
        self.input_layernorm = LlamaRMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = LlamaRMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, h, cos, sin):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(LlamaDecoderLayer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = LlamaRMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, ids):
        head_dim = self.c.get("head_dim") or self.c["hidden_size"] // self.c["num_attention_heads"]
        cos, sin = rope_cos_sin(ids.shape[1], head_dim, self.c["rope_theta"], ids.device)
        h = self.embed_tokens(ids)
        for layer in self.layers:
            h = layer(h, cos, sin)
        return self.norm(h)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = LlamaModel(c)
        init_weights(self, c["initializer_range"])

    def embedding(self):
        return self.model.embed_tokens

    def forward(self, ids):  # lm_head tied to embed_tokens (tie_word_embeddings = true)
        return F.linear(self.model(ids), self.embedding().weight)


def init_weights(model, std):
    """transformers' _init_weights: normal(0, std) for linears and embeddings, zero biases;
    the residual output projections are scaled down by sqrt(2 * layers) (GPT-2 style) to help
    the short training run."""
    layers = model.config["num_hidden_layers"]
    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            s = std / math.sqrt(2 * layers) if name.endswith(("out_proj", "o_proj", "fc2", "down_proj")) else std
            nn.init.normal_(m.weight, 0.0, s)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)


ARCHS = {"opt": OPTForCausalLM, "llama": LlamaForCausalLM}


def build(config):
    return ARCHS[config["model_type"]](config)


def state_dict_for_hf(model):
    """The tensors as transformers names them; the tied lm_head is not stored (like save_pretrained)."""
    return {k: v.detach() for k, v in model.state_dict().items() if k != "lm_head.weight"}
