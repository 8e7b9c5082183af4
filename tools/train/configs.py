"""config.json / generation_config.json for the two embedded models, with the keys transformers'
OPTConfig / LlamaConfig write on save_pretrained."""

TRANSFORMERS_VERSION = "4.46.0"


def opt_config(vocab_size, eot_id, hidden=128, layers=4, heads=4, ffn=512, max_pos=256):
    return {
        "_remove_final_layer_norm": False,
        "activation_dropout": 0.0,
        "activation_function": "relu",
        "architectures": ["OPTForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": eot_id,
        "do_layer_norm_before": True,
        "dropout": 0.0,
        "enable_bias": True,
        "eos_token_id": eot_id,
        "ffn_dim": ffn,
        "hidden_size": hidden,
        "init_std": 0.02,
        "layer_norm_elementwise_affine": True,
        "layerdrop": 0.0,
        "max_position_embeddings": max_pos,
        "model_type": "opt",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "pad_token_id": eot_id,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": vocab_size,
        "word_embed_proj_dim": hidden,
    }


def llama_config(vocab_size, eot_id, hidden=128, layers=4, heads=4, kv_heads=2, inter=384, max_pos=256):
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": eot_id,
        "eos_token_id": eot_id,
        "head_dim": hidden // heads,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "max_position_embeddings": max_pos,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def generation_config(eot_id):
    return {
        "_from_model_config": True,
        "bos_token_id": eot_id,
        "eos_token_id": eot_id,
        "pad_token_id": eot_id,
        "transformers_version": TRANSFORMERS_VERSION,
    }
