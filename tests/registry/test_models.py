"""Parameter counts from architecture and from Hugging Face config.json files.

Reference counts: the models' own publications (Llama 3: 8.03e9, Meta model card; Mixtral 8x7B:
46.7e9 total / 12.9e9 active, Mistral AI announcement; DeepSeek-V3: 671e9 / 37e9, technical report
abstract; GPT-2 small: 124,439,808 and Pythia-160M: 162,322,944 = sum of the checkpoint tensors).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsysim_sym.registry import Model, RegistryError
from mlsysim_sym.registry import params as P
from mlsysim_sym.registry.loader import build_entry
from mlsysim_sym.registry.schema import Source
from mlsysim_sym.units import Q_

from .conftest import SOURCES, tiny_model

LLAMA3_8B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
             "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
             "vocab_size": 128256, "max_position_embeddings": 8192, "tie_word_embeddings": False,
             "rms_norm_eps": 1e-5, "hidden_act": "silu"}
MIXTRAL_8X7B = {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
                "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                "vocab_size": 32000, "max_position_embeddings": 32768, "num_local_experts": 8,
                "num_experts_per_tok": 2, "tie_word_embeddings": False}
DEEPSEEK_V3 = {"model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432,
               "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
               "num_key_value_heads": 128, "q_lora_rank": 1536, "kv_lora_rank": 512,
               "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
               "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
               "first_k_dense_replace": 3, "moe_layer_freq": 1, "vocab_size": 129280,
               "max_position_embeddings": 163840, "tie_word_embeddings": False}
GPT2 = {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024,
        "n_ctx": 1024, "vocab_size": 50257}
PYTHIA_160M = {"model_type": "gpt_neox", "hidden_size": 768, "intermediate_size": 3072,
               "num_hidden_layers": 12, "num_attention_heads": 12, "vocab_size": 50304,
               "max_position_embeddings": 2048, "tie_word_embeddings": False,
               "use_parallel_residual": True}


def from_config(tmp_path, cfg, name="m"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg))
    return Model.from_hf_config(folder / "config.json")


def test_llama3_8b_config_gives_8_03e9(tmp_path):
    m = from_config(tmp_path, LLAMA3_8B, "Meta-Llama-3-8B")
    assert m.name == "meta-llama-3-8b" and m.family == "decoder"
    assert m.parameters.to("param").magnitude == pytest.approx(8.03e9, rel=2e-3)
    assert m.parameters.magnitude == 8_030_261_248  # embeddings + 32 layers + head + norm
    assert m.active_parameters == m.parameters
    assert (m.kv_heads, m.head_dim, m.attention) == (8, 128, "gqa")
    # the KV cache is wall 4's formula, not a registry value: 2 x 32 layers x 8 KV heads x 128
    import mlsysim_sym as ms
    kv = ms.predict(m, "h100", batch=1, seq_len=1, precision="fp16").kv_cache
    assert kv.to("B").magnitude == pytest.approx(2 * 32 * 8 * 128 * 2, rel=1e-12)
    assert m.provenance("layers").locator.endswith("config.json")


def test_mixtral_8x7b_total_and_active(tmp_path):
    m = from_config(tmp_path, MIXTRAL_8X7B)
    assert m.family == "moe" and (m.experts, m.experts_per_token, m.moe_layers) == (8, 2, 32)
    assert m.parameters.to("param").magnitude == pytest.approx(46.7e9, rel=5e-3)
    assert m.active_parameters.to("param").magnitude == pytest.approx(12.9e9, rel=5e-3)


def test_deepseek_v3_mla_and_shared_experts(tmp_path):
    m = from_config(tmp_path, DEEPSEEK_V3)
    assert m.attention == "mla" and m.moe_layers == 58 and m.shared_experts == 1
    assert m.parameters.to("param").magnitude == pytest.approx(671e9, rel=5e-3)
    assert m.active_parameters.to("param").magnitude == pytest.approx(37e9, rel=2e-2)
    assert (m.layers, m.mla.kv_lora_rank, m.mla.qk_rope_head_dim) == (61, 512, 64)


def test_gpt2_small_exact(tmp_path):
    m = from_config(tmp_path, GPT2)
    assert m.parameters.magnitude == 124_439_808
    parts = m.parameter_breakdown()
    assert parts["position_embedding"] == 1024 * 768 and parts["lm_head"] == 0


def test_gpt_neox_pythia_160m_exact(tmp_path):
    assert from_config(tmp_path, PYTHIA_160M).parameters.magnitude == 162_322_944


def test_qwen2_has_qkv_bias_and_gemma_is_tied(tmp_path):
    qwen = dict(LLAMA3_8B, model_type="qwen2")
    gemma = dict(LLAMA3_8B, model_type="gemma")
    del gemma["tie_word_embeddings"]
    llama = from_config(tmp_path, LLAMA3_8B, "a").parameters.magnitude
    assert from_config(tmp_path, qwen, "b").parameters.magnitude - llama == 32 * (4096 + 2 * 1024)
    assert llama - from_config(tmp_path, gemma, "c").parameters.magnitude == 128256 * 4096


def test_unknown_model_type_lists_supported(tmp_path):
    with pytest.raises(ValueError) as info:
        from_config(tmp_path, {"model_type": "t5", "d_model": 512})
    assert "t5" in str(info.value) and "llama" in str(info.value) and "deepseek_v3" in str(info.value)


def test_config_missing_a_key_is_clear(tmp_path):
    cfg = dict(MIXTRAL_8X7B)
    del cfg["num_local_experts"]
    with pytest.raises(ValueError) as info:
        from_config(tmp_path, cfg)
    assert "num_local_experts" in str(info.value)


# ---- identities over random architectures -----------------------------------------------------

SOURCE = {"doe-2025-tiny": Source.model_validate({**SOURCES["doe-2025-tiny"], "id": "doe-2025-tiny"})}


def build(**arch) -> Model:
    entry = tiny_model()
    entry["architecture"].update(arch)
    return build_entry("model", entry, SOURCE)


arch_strategy = st.fixed_dictionaries({
    "layers": st.integers(1, 8), "hidden": st.sampled_from([64, 128, 256]),
    "heads": st.sampled_from([4, 8]), "ffn": st.integers(16, 512),
    "vocab": st.integers(10, 5000), "ffn_gated": st.booleans(),
    "norm": st.sampled_from(["rmsnorm", "layernorm"]),
})


@settings(max_examples=60, deadline=None)
@given(arch=arch_strategy)
def test_vanilla_transformer_closed_form(arch):
    """MHA, no biases: L (4 h^2 + m h f + 2 n) + 2 V h + n, m = 3 gated else 2, n = norm size."""
    m = build(**arch, kv_heads=arch["heads"])
    h, f, L, V = arch["hidden"], arch["ffn"], arch["layers"], arch["vocab"]
    n = h if arch["norm"] == "rmsnorm" else 2 * h
    mats = 3 if arch["ffn_gated"] else 2
    assert m.parameters.magnitude == L * (4 * h * h + mats * h * f + 2 * n) + 2 * V * h + n


@settings(max_examples=60, deadline=None)
@given(arch=arch_strategy)
def test_tying_removes_exactly_one_embedding(arch):
    untied = build(**arch, tied_embeddings=False).parameters.magnitude
    tied = build(**arch, tied_embeddings=True).parameters.magnitude
    assert untied - tied == arch["vocab"] * arch["hidden"]


@settings(max_examples=40, deadline=None)
@given(arch=arch_strategy)
def test_fewer_kv_heads_means_fewer_parameters(arch):
    heads = arch["heads"]
    counts = [build(**arch, kv_heads=kv).parameters.magnitude
              for kv in (1, heads // 2, heads)]
    head_dim = arch["hidden"] // heads
    assert counts[0] < counts[1] < counts[2]
    assert counts[2] - counts[0] == arch["layers"] * 2 * arch["hidden"] * (heads - 1) * head_dim


@settings(max_examples=40, deadline=None)
@given(experts=st.integers(1, 16), data=st.data())
def test_moe_active_le_total_and_equal_when_all_routed(experts, data):
    k = data.draw(st.integers(1, experts))
    entry = tiny_model(family="moe", moe={"experts": experts, "experts_per_token": k,
                                          "expert_ffn": 96})
    m = build_entry("model", entry, SOURCE)
    assert m.active_parameters <= m.parameters
    full = build_entry("model", tiny_model(family="moe", moe={
        "experts": experts, "experts_per_token": experts, "expert_ffn": 96}), SOURCE)
    assert full.active_parameters == full.parameters
    routed = m.parameter_breakdown()["experts"]
    assert (m.parameters - m.active_parameters).magnitude == routed * (experts - k) // experts


def test_published_flops_and_macs():
    assert build_entry("model", {**tiny_model("cnn-a", family="cnn"), "architecture": None,
                                 "published_params": "25.6e6 param",
                                 "published_macs": "4.1 GMAC"}, SOURCE
                       ).flops_per_inference.to("FLOP").magnitude == pytest.approx(8.2e9)
    m = build_entry("model", {**tiny_model("cnn-b", family="cnn"), "architecture": None,
                              "published_params": "25.6e6 param",
                              "published_flops": "8 GFLOP"}, SOURCE)
    assert m.flops_per_inference == Q_(8, "GFLOP") and m.parameters == Q_(25.6e6, "param")
    assert m.provenance("flops_per_inference").source == "doe-2025-tiny"


def test_moe_block_only_for_moe_family():
    with pytest.raises(RegistryError) as info:
        build_entry("model", tiny_model(moe={"experts": 2, "experts_per_token": 1,
                                             "expert_ffn": 8}), SOURCE)
    assert info.value.field == "moe"


def test_decoder_needs_architecture_fields():
    entry = tiny_model()
    del entry["architecture"]["ffn"]
    with pytest.raises(RegistryError) as info:
        build_entry("model", entry, SOURCE)
    assert info.value.field == "architecture.ffn"
