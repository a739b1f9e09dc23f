"""Parameter counts derived from a model's architecture, and Hugging Face config translation.

Counts are exact integers (number of weights and biases), by component, for the transformer
families (decoder, MoE, encoder) and Mamba (ssm). They follow the module structure of the
reference implementations in Hugging Face ``transformers`` (LlamaForCausalLM, MixtralForCausalLM,
DeepseekV3ForCausalLM, GPT2LMHeadModel, GPTNeoXForCausalLM, BertModel, MambaForCausalLM):

- embeddings: ``vocab x hidden``, plus ``max_context x hidden`` for learned positions and
  ``type_vocab x hidden`` for BERT token types; an untied LM head adds ``vocab x hidden``
  (encoders are counted as the backbone, without an LM head);
- attention per layer: q, k, v, o projections (``heads x head_dim`` queries, ``kv_heads x head_dim``
  keys and values, so MHA, GQA and MQA are one formula), with biases when asked; DeepSeek MLA:
  q_a/q_b (or q) projections with the q_a norm, kv_a (with the rope key) and kv_b projections with
  the kv_a norm, and o_proj;
- FFN per layer: 3 matrices when gated (SwiGLU/GeGLU), else 2, with biases when asked;
- MoE layers: routed experts x expert FFN, shared experts, and the router (``hidden x experts``);
  dense layers use the dense FFN width;
- norms: RMSNorm has ``hidden`` weights, LayerNorm ``2 x hidden`` (weight and bias); two per layer
  plus a final norm for decoders, an embedding norm for encoders;
- Mamba per layer: in_proj, conv1d (+bias), x_proj, dt_proj (+bias), A_log, D, out_proj, norm.

References
----------
.. [1] Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1 (N counts).
.. [2] DeepSeek-AI, "DeepSeek-V3 Technical Report", 2024, Section 2.1 (MLA, DeepSeekMoE).
.. [3] Gu and Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", 2023.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .. import vocabulary

__all__ = ["parameter_breakdown", "total_parameters", "active_parameters",
           "architecture_from_hf_config", "HF_MODEL_TYPES"]


def _norm(arch, width: int | None = None) -> int:
    width = arch.hidden if width is None else width
    return width if arch.norm == "rmsnorm" else 2 * width


def _head_dim(arch) -> int:
    return arch.head_dim or arch.hidden // arch.heads


def _kv_heads(arch) -> int:
    return vocabulary.kv_heads_of(arch.heads, arch.kv_heads, arch.attention)


def attention_parameters(arch) -> int:
    """Weights and biases of one attention block (MHA/GQA/MQA or MLA) [param]."""
    h, heads = arch.hidden, arch.heads
    if arch.attention == "mla":
        m = arch.mla
        qk_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            q = h * m.q_lora_rank + _norm(arch, m.q_lora_rank) + m.q_lora_rank * heads * qk_head
        else:
            q = h * heads * qk_head
        kv = (h * (m.kv_lora_rank + m.qk_rope_head_dim) + _norm(arch, m.kv_lora_rank)
              + m.kv_lora_rank * heads * (m.qk_nope_head_dim + m.v_head_dim))
        o = heads * m.v_head_dim * h
        # HF DeepseekV3Attention: attention_bias puts biases on q_a (or q), kv_a and o only
        bias = 0
        if arch.attention_bias:
            bias = ((m.q_lora_rank if m.q_lora_rank else 0)
                    + m.kv_lora_rank + m.qk_rope_head_dim + h)
        return q + kv + o + bias
    d = _head_dim(arch)
    q_out, kv_out = heads * d, _kv_heads(arch) * d
    weights = h * q_out + 2 * h * kv_out + q_out * h
    bias = 0
    if arch.attention_bias or arch.qkv_bias:
        bias += q_out + 2 * kv_out
    if arch.attention_bias:
        bias += h
    return weights + bias


def ffn_parameters(arch, width: int) -> int:
    """Weights and biases of one FFN (gated: gate, up, down; else up, down) [param]."""
    h = arch.hidden
    if arch.ffn_gated:
        return 3 * h * width + ((2 * width + h) if arch.mlp_bias else 0)
    return 2 * h * width + ((width + h) if arch.mlp_bias else 0)


def _mamba_layer(arch) -> int:
    s, h = arch.ssm, arch.hidden
    inner = s.expand * h
    dt_rank = s.dt_rank or math.ceil(h / 16)
    return (h * 2 * inner                        # in_proj (x and z branches)
            + inner * s.d_conv + inner           # depthwise conv1d + bias
            + inner * (dt_rank + 2 * s.d_state)  # x_proj -> dt, B, C
            + dt_rank * inner + inner            # dt_proj + bias
            + inner * s.d_state + inner          # A_log, D
            + inner * h                          # out_proj
            + _norm(arch))                       # pre-block norm


def parameter_breakdown(model) -> dict[str, int]:
    """Parameter count by component [param], from the architecture.

    Parameters
    ----------
    model
        Anything with ``family`` and the architecture attributes of
        :class:`mlsysim_sym.registry.objects.Model` (``layers``, ``hidden``, ... and ``moe``).

    Returns
    -------
    dict of str to int
        Keys: ``embedding``, ``position_embedding``, ``type_embedding``, ``attention``,
        ``ffn``, ``experts``, ``shared_experts``, ``router``, ``ssm``, ``norms``, ``lm_head``,
        ``pooler`` (zero where absent). ``experts`` is all routed experts of all MoE layers.
    """
    fam = model.family
    h, layers, vocab = model.hidden, model.layers, model.vocab
    out = dict.fromkeys(("embedding", "position_embedding", "type_embedding", "attention", "ffn",
                         "experts", "shared_experts", "router", "ssm", "norms", "lm_head",
                         "pooler"), 0)
    out["embedding"] = vocab * h
    if fam == "ssm":
        out["ssm"] = layers * _mamba_layer(model)
        out["norms"] = _norm(model)
        out["lm_head"] = 0 if model.tied_embeddings else vocab * h
        return out
    if fam not in ("decoder", "moe", "encoder"):
        raise ValueError(f"family {fam} has no architecture-derived parameter count")
    if model.position == "learned":
        out["position_embedding"] = model.max_context * h
    out["type_embedding"] = model.type_vocab * h
    out["attention"] = layers * attention_parameters(model)
    moe = model.moe if fam == "moe" else None
    moe_layers = (moe.moe_layers or layers) if moe else 0
    dense_width = (moe.dense_ffn or model.ffn) if moe else model.ffn
    if layers - moe_layers:
        out["ffn"] = (layers - moe_layers) * ffn_parameters(model, dense_width)
    if moe:
        expert = ffn_parameters(model, moe.expert_ffn)
        out["experts"] = moe_layers * moe.experts * expert
        out["shared_experts"] = moe_layers * moe.shared_experts * expert
        out["router"] = moe_layers * h * moe.experts
    # two norms per layer; decoders end with a final norm, (post-LN) encoders start with one
    out["norms"] = (2 * layers + 1) * _norm(model)
    if fam == "encoder":
        out["pooler"] = (h * h + h) if model.pooler else 0
    else:
        out["lm_head"] = 0 if model.tied_embeddings else vocab * h
    return out


def total_parameters(model) -> int:
    """All parameters [param] (see :func:`parameter_breakdown`)."""
    return sum(parameter_breakdown(model).values())


def active_parameters(model) -> int:
    """Parameters used per token [param]: all but the routed experts not chosen (top-k)."""
    parts = parameter_breakdown(model)
    total = sum(parts.values())
    moe = getattr(model, "moe", None)
    if model.family != "moe" or moe is None:
        return total
    return total - parts["experts"] * (moe.experts - moe.experts_per_token) // moe.experts


# ---- Hugging Face config.json -> registry architecture -------------------------------------------

def _get(cfg: Mapping[str, Any], *keys, default=None):
    for key in keys:
        if cfg.get(key) is not None:
            return cfg[key]
    return default


def _llama_like(cfg, *, tied_default=False, gated=True, qkv_bias=False) -> dict:
    hidden = _get(cfg, "hidden_size")
    heads = _get(cfg, "num_attention_heads")
    kv = _get(cfg, "num_key_value_heads", default=heads)
    arch = {
        "layers": _get(cfg, "num_hidden_layers"), "hidden": hidden, "heads": heads,
        "kv_heads": kv, "ffn": _get(cfg, "intermediate_size"), "ffn_gated": gated,
        "vocab": _get(cfg, "vocab_size"),
        "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=tied_default)),
        "norm": "rmsnorm", "position": "rope",
        "attention_bias": bool(_get(cfg, "attention_bias", default=False)),
        "qkv_bias": qkv_bias, "mlp_bias": bool(_get(cfg, "mlp_bias", default=False)),
        "attention": vocabulary.attention_variant(heads, kv),
    }
    if _get(cfg, "head_dim"):
        arch["head_dim"] = cfg["head_dim"]
    if _get(cfg, "max_position_embeddings"):
        arch["max_context"] = cfg["max_position_embeddings"]
    return arch


def _gpt2(cfg) -> dict:
    hidden = _get(cfg, "n_embd", "hidden_size")
    heads = _get(cfg, "n_head", "num_attention_heads")
    return {
        "layers": _get(cfg, "n_layer", "num_hidden_layers"), "hidden": hidden, "heads": heads,
        "kv_heads": heads, "ffn": _get(cfg, "n_inner", default=4 * hidden), "ffn_gated": False,
        "vocab": _get(cfg, "vocab_size"),
        "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=True)),
        "max_context": _get(cfg, "n_positions", "max_position_embeddings"),
        "norm": "layernorm", "position": "learned", "attention_bias": True, "mlp_bias": True,
        "attention": "mha",
    }


def _gpt_neox(cfg) -> dict:
    heads = _get(cfg, "num_attention_heads")
    arch = {
        "layers": _get(cfg, "num_hidden_layers"), "hidden": _get(cfg, "hidden_size"),
        "heads": heads, "kv_heads": heads, "ffn": _get(cfg, "intermediate_size"),
        "ffn_gated": False, "vocab": _get(cfg, "vocab_size"),
        "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=False)),
        "norm": "layernorm", "position": "rope",
        "attention_bias": bool(_get(cfg, "attention_bias", default=True)), "mlp_bias": True,
        "attention": "mha",
    }
    if _get(cfg, "max_position_embeddings"):
        arch["max_context"] = cfg["max_position_embeddings"]
    return arch


def _mixtral(cfg) -> tuple[dict, dict]:
    arch = _llama_like(cfg)
    moe = {"experts": cfg["num_local_experts"], "experts_per_token": cfg["num_experts_per_tok"],
           "shared_experts": 0, "expert_ffn": cfg["intermediate_size"],
           "moe_layers": cfg["num_hidden_layers"]}
    return arch, moe


def _deepseek(cfg) -> tuple[dict, dict]:
    heads = cfg["num_attention_heads"]
    arch = {
        "layers": cfg["num_hidden_layers"], "hidden": cfg["hidden_size"], "heads": heads,
        "kv_heads": _get(cfg, "num_key_value_heads", default=heads), "ffn": cfg["intermediate_size"],
        "ffn_gated": True, "vocab": cfg["vocab_size"],
        "tied_embeddings": bool(_get(cfg, "tie_word_embeddings", default=False)),
        "norm": "rmsnorm", "position": "rope",
        "attention_bias": bool(_get(cfg, "attention_bias", default=False)), "attention": "mla",
        "mla": {"q_lora_rank": _get(cfg, "q_lora_rank"), "kv_lora_rank": cfg["kv_lora_rank"],
                "qk_nope_head_dim": cfg["qk_nope_head_dim"],
                "qk_rope_head_dim": cfg["qk_rope_head_dim"], "v_head_dim": cfg["v_head_dim"]},
    }
    if _get(cfg, "max_position_embeddings"):
        arch["max_context"] = cfg["max_position_embeddings"]
    layers = cfg["num_hidden_layers"]
    first_dense = _get(cfg, "first_k_dense_replace", default=0)
    freq = _get(cfg, "moe_layer_freq", default=1)
    moe_layers = sum(1 for i in range(first_dense, layers) if i % freq == 0)
    moe = {"experts": cfg["n_routed_experts"], "experts_per_token": cfg["num_experts_per_tok"],
           "shared_experts": _get(cfg, "n_shared_experts", default=0),
           "expert_ffn": cfg["moe_intermediate_size"], "moe_layers": moe_layers,
           "dense_ffn": cfg["intermediate_size"]}
    return arch, moe


HF_MODEL_TYPES = ("llama", "mistral", "qwen2", "gemma", "gemma2", "gpt2", "gpt_neox", "mixtral",
                  "deepseek_v2", "deepseek_v3")


def architecture_from_hf_config(cfg: Mapping[str, Any]) -> tuple[str, dict, dict | None]:
    """Translate a Hugging Face ``config.json`` mapping to the registry's architecture block.

    Parameters
    ----------
    cfg : mapping
        The parsed ``config.json``.

    Returns
    -------
    family : str
        ``decoder`` or ``moe``.
    architecture : dict
        The ``architecture`` block (docs/registry-format.md).
    moe : dict or None
        The ``moe`` block for MoE models.

    Raises
    ------
    ValueError
        For a ``model_type`` not in :data:`HF_MODEL_TYPES` or a config missing a needed key.
    """
    model_type = cfg.get("model_type")
    try:
        if model_type in ("llama", "mistral"):
            return "decoder", _llama_like(cfg), None
        if model_type == "qwen2":
            return "decoder", _llama_like(cfg, qkv_bias=True), None
        if model_type in ("gemma", "gemma2"):
            return "decoder", _llama_like(cfg, tied_default=True), None
        if model_type == "gpt2":
            return "decoder", _gpt2(cfg), None
        if model_type == "gpt_neox":
            return "decoder", _gpt_neox(cfg), None
        if model_type == "mixtral":
            return ("moe", *_mixtral(cfg))
        if model_type in ("deepseek_v2", "deepseek_v3"):
            return ("moe", *_deepseek(cfg))
    except KeyError as exc:
        raise ValueError(f"config.json (model_type {model_type!r}) lacks the key {exc.args[0]!r}") \
            from None
    raise ValueError(f"unsupported model_type {model_type!r} in config.json; supported: "
                     f"{', '.join(HF_MODEL_TYPES)}")
